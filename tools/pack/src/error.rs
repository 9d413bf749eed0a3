//! The one error type of the packer: every failure names the file and the field.

use std::path::Path;

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The input (or a value to be written) breaks a rule of its format.
    #[error("{file}: {field}: {problem}")]
    Invalid {
        /// File the value came from (or is going to).
        file: String,
        /// The field, header word or JSON key at fault.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Result with [`PackError`].
pub type Result<T> = std::result::Result<T, PackError>;

impl PackError {
    /// The field named by an [`PackError::Invalid`] (tests match on it).
    pub fn field(&self) -> Option<&str> {
        match self {
            PackError::Invalid { field, .. } => Some(field),
            PackError::Io { .. } => None,
        }
    }
}

/// Shorthand for [`PackError::Invalid`].
pub(crate) fn invalid(file: &str, field: impl Into<String>, problem: impl Into<String>) -> PackError {
    PackError::Invalid { file: file.to_string(), field: field.into(), problem: problem.into() }
}

/// Reads a whole file, naming it on failure.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| PackError::Io { path: path.display().to_string(), source })
}

/// Writes a whole file (creating its parent directories), naming it on failure.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|source| PackError::Io { path: parent.display().to_string(), source })?;
    }
    std::fs::write(path, bytes).map_err(|source| PackError::Io { path: path.display().to_string(), source })
}

/// The name used for a path in error messages: its file name, or the path itself.
pub fn display_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}
