//! Built without the `templates` feature there is no engine: `Engine` has no values, so a
//! [`Templates`](super::Templates) is always unconfigured and error pages are the server's own.

use http::StatusCode;
use serde::Serialize;

use super::TemplateError;
use crate::config::TemplatesConfig;

pub(super) enum Engine {}

impl Engine {
    pub(super) fn load(_config: &TemplatesConfig) -> Result<Self, TemplateError> {
        Err(TemplateError::FeatureMissing)
    }

    pub(super) fn contains(&self, _name: &str) -> bool {
        match *self {}
    }

    pub(super) fn render(
        &self,
        _name: &str,
        _context: impl Serialize,
    ) -> Result<String, TemplateError> {
        match *self {}
    }

    pub(super) fn error_page(&self, _status: StatusCode, _message: &str) -> Option<String> {
        match *self {}
    }
}
