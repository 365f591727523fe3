//! Why a route's chain could not be built.

/// An extension that failed while the per-route chains were built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("extension `{extension}` failed for route `{route}`: {message}")]
pub struct PipelineError {
    pub extension: String,
    pub route: String,
    pub message: String,
}

/// Why a route's chain was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChainError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    ValueOrder(#[from] Box<super::ValueOrderError>),
}
