//! Handles on a loaded extension, from a runtime or a running server, to send it commands.

use std::sync::Arc;

use serde_json::Value;

use super::Generation;
use crate::error::CommandError;
use crate::host::LoadedExtension;

pub(crate) fn find<'a>(
    extensions: &'a [LoadedExtension],
    name: &str,
) -> Option<ExtensionHandle<'a>> {
    extensions
        .iter()
        .find(|e| e.name == name)
        .map(|extension| ExtensionHandle {
            extension: Held::Borrowed(extension),
        })
}

/// A handle that keeps the configuration generation it came from alive.
pub(crate) fn shared(generation: Arc<Generation>, name: &str) -> Option<ExtensionHandle<'static>> {
    let index = generation.extensions.iter().position(|e| e.name == name)?;
    Some(ExtensionHandle {
        extension: Held::Shared(generation, index),
    })
}

/// A loaded extension, reached by name from the application.
pub struct ExtensionHandle<'a> {
    extension: Held<'a>,
}

enum Held<'a> {
    Borrowed(&'a LoadedExtension),
    /// From a running server, whose configuration may be replaced by a reload meanwhile.
    Shared(Arc<Generation>, usize),
}

impl ExtensionHandle<'_> {
    fn extension(&self) -> &LoadedExtension {
        match &self.extension {
            Held::Borrowed(extension) => extension,
            Held::Shared(generation, index) => &generation.extensions[*index],
        }
    }

    pub fn name(&self) -> &str {
        &self.extension().name
    }

    /// Sends a command; the extension answers with JSON, or the error names it and says
    /// whether it refused, panicked or answered something that is not JSON.
    pub fn command(&self, name: &str, argument: &Value) -> Result<Value, CommandError> {
        let argument = argument.to_string();
        let extension = self.extension();
        let (extension, command) = (extension.name.clone(), name.to_owned());
        match self.extension().command(name, &argument) {
            Ok(answer) => {
                serde_json::from_str(&answer).map_err(|source| CommandError::InvalidAnswer {
                    extension,
                    command,
                    source,
                })
            }
            Err(failure) if failure.panicked => Err(CommandError::Panicked {
                extension,
                command,
                message: failure.message,
            }),
            Err(failure) => Err(CommandError::Failed {
                extension,
                command,
                message: failure.message,
            }),
        }
    }
}
