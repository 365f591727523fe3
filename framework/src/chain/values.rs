//! The order of request values on a route: an extension that reads a request value set by
//! another (`csrf` bound to `value:auth.subject`) must come after one that sets it, or it
//! silently reads nothing. Checked when each route's chain is built, so the server refuses
//! to start and `beginnings check` fails.
//!
//! Extensions declare what they set and read through the SDK (`Extension::values_set`,
//! `Extension::values_read`, ABI 1.1); a library built for 1.0 sets and reads nothing as far
//! as this check knows. On a route where no extension that sets the value takes part (a
//! public route without `auth`), the value is absent by configuration and the reader sees
//! none: only an order that makes a setter on the route run too late, or a value no
//! configured extension sets at all, is refused. A library built for ABI 1.0 before the
//! reader may set a value without being able to say so: a value nobody declares is then a
//! warning, not a refusal, so a configuration that worked on a 1.0 host keeps starting.

use std::collections::HashSet;
use std::fmt;

use crate::config::Location;
use crate::host::LoadedExtension;

/// A route where an extension reads a request value that no extension before it sets.
#[derive(Debug)]
pub struct ValueOrderError {
    /// Where the configuration names the reading extension.
    pub location: Location,
    /// The reading extension, `module:Type`.
    pub extension: String,
    /// `METHOD /path`.
    pub route: String,
    pub value: String,
    /// The extensions before the reader on the route, in order.
    pub before: Vec<String>,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for ValueOrderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let before = if self.before.is_empty() {
            "none".to_string()
        } else {
            self.before.join(", ")
        };
        write!(
            f,
            "{}: `{}` reads the request value `{}` on route {}, but no extension before it on \
             that route sets it (before it: {before}); {}",
            self.location, self.extension, self.value, self.route, self.fix
        )
    }
}

impl std::error::Error for ValueOrderError {}

/// Checks one route's chain: `members` are the indices into `extensions` (sorted by
/// priority) of the extensions that take part in the route, in chain order.
pub(crate) fn check_order(
    extensions: &[LoadedExtension],
    members: &[usize],
    method: &str,
    path: &str,
    warned: &mut HashSet<(usize, String)>,
) -> Result<(), Box<ValueOrderError>> {
    for (position, &reader) in members.iter().enumerate() {
        let reading = &extensions[reader];
        let earlier = &members[..position];
        for value in &reading.values_read {
            let sets = |index: &usize| extensions[*index].values_set.contains(value);
            if earlier.iter().any(sets) {
                continue;
            }
            let later_setter = members[position + 1..].iter().find(|i| sets(i));
            let configured_setter = (0..extensions.len()).find(|i| *i != reader && sets(i));
            let fix = match (later_setter, configured_setter) {
                (Some(&setter), _) => order_fix(&extensions[setter], reading),
                // The setter takes no part in this route: the value is absent here by
                // configuration, as on a public route without authentication.
                (None, Some(_)) => continue,
                (None, None) => {
                    let undeclared = earlier.iter().find(|i| !extensions[**i].declares_values);
                    if let Some(&older) = undeclared {
                        if warned.insert((reader, value.clone())) {
                            tracing::warn!(
                                extension = %reading.name,
                                value = %value,
                                "no configured extension declares that it sets the request \
                                 value this one reads; `{}` (built for ABI 1.0, which cannot \
                                 declare values) may set it, so the order is not checked",
                                extensions[older].name
                            );
                        }
                        continue;
                    }
                    no_setter_fix(extensions)
                }
            };
            return Err(Box::new(ValueOrderError {
                location: reading.location.clone(),
                extension: reading.name.clone(),
                route: format!("{method} {path}"),
                value: value.clone(),
                before: earlier
                    .iter()
                    .map(|i| extensions[*i].name.clone())
                    .collect(),
                fix,
            }));
        }
    }
    Ok(())
}

/// How to put `setter` before `reader`: extensions run by `priority`, then as listed.
fn order_fix(setter: &LoadedExtension, reader: &LoadedExtension) -> String {
    if setter.priority == reader.priority {
        format!(
            "order `{}` before it (list it earlier under `extensions:`, or give it a `priority` \
             lower than {})",
            setter.name, reader.priority
        )
    } else {
        format!(
            "order `{}` before it (give it a `priority` lower than {}; it has {})",
            setter.name, reader.priority, setter.priority
        )
    }
}

/// What to say when no configured extension sets the value: maybe its name is mistyped.
fn no_setter_fix(extensions: &[LoadedExtension]) -> String {
    let mut known: Vec<&str> = extensions
        .iter()
        .flat_map(|e| e.values_set.iter().map(String::as_str))
        .collect();
    known.sort_unstable();
    known.dedup();
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    format!(
        "no configured extension sets it: configure one that does before it, or correct the \
         name (the configured extensions set: {known})"
    )
}
