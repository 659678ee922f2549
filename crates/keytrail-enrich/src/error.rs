use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong while building, loading or opening enrichment data.
///
/// Messages are meant to be shown to a person as they are: each names the file (or CSV
/// source) and, for CSV rows, the line and what is wrong with it. Underlying I/O and
/// MaxMind errors are folded into the message rather than exposed as `source()`, so error
/// chain printers do not repeat them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrichError {
    /// A file could not be read, written or renamed.
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    /// A row of an ASN CSV source is malformed, or the source could not be read.
    #[error("{file}{}: {problem}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Csv {
        /// The file name, or a label such as "IPv4 ASN CSV" when built from a reader.
        file: String,
        /// 1-based line number, when known.
        line: Option<u64>,
        problem: String,
    },
    /// A compiled ASN index is not one, is truncated or corrupt, or has another format version.
    #[error("{origin}: {problem}")]
    Index {
        /// The file path, or "ASN index" for bytes that did not come from a file.
        origin: String,
        problem: IndexProblem,
    },
    /// The content is not in any format this use accepts.
    #[error("{}: not a {expected}", path.display())]
    UnknownFormat {
        path: PathBuf,
        /// What would have been accepted, e.g. "keytrail ASN index or MaxMind database".
        expected: &'static str,
    },
    /// The file looks like a MaxMind database but is malformed.
    #[error("{}: invalid MaxMind database: {problem}", path.display())]
    MaxMind { path: PathBuf, problem: String },
    /// A valid database of the wrong kind, e.g. an ASN database where a City one is expected.
    #[error("{}: {problem}", path.display())]
    WrongDatabase { path: PathBuf, problem: String },
    /// The CSV sources hold more than the index format can address (2^32 ranges or bytes).
    #[error("ASN data too large for the index format: {0}")]
    TooLarge(String),
    /// A list name that is not a plain file name.
    #[error("'{0}' is not a list name: use letters, digits, '-', '_' and '.'")]
    InvalidListName(String),
    /// A stored intel list with a line that is not an address (the store was edited by hand).
    #[error("{} line {line}: not an IP address or CIDR block", path.display())]
    BadIntelList { path: PathBuf, line: usize },
}

/// Why a compiled ASN index was rejected.
///
/// Separate from [`EnrichError`] so callers can tell "rebuild the index" cases apart
/// (e.g. [`IndexProblem::UnsupportedVersion`] after an upgrade) without parsing messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexProblem {
    /// The magic bytes are wrong: this is some other kind of file.
    NotAnIndex,
    /// Written by a keytrail with another index format version.
    UnsupportedVersion { found: u32, supported: u32 },
    /// The file is shorter than its header says (interrupted copy or download).
    Truncated { expected: u64, found: u64 },
    /// The file is longer than its header says.
    TrailingBytes { expected: u64, found: u64 },
    /// The content does not match the checksum recorded when it was written.
    ChecksumMismatch { recorded: u64, computed: u64 },
    /// The checksum matched but the structure is inconsistent (a writer bug or a forged file).
    Corrupt(String),
}

impl fmt::Display for IndexProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexProblem::NotAnIndex => write!(f, "not a keytrail ASN index (wrong magic bytes)"),
            IndexProblem::UnsupportedVersion { found, supported } => write!(
                f,
                "ASN index format version {found} is not supported (this keytrail reads version {supported}); rebuild the index"
            ),
            IndexProblem::Truncated { expected, found } => {
                write!(f, "truncated index (expected {expected} bytes, found {found})")
            }
            IndexProblem::TrailingBytes { expected, found } => write!(
                f,
                "corrupt index: {} unexpected bytes after the end (expected {expected} bytes, found {found})",
                found.saturating_sub(*expected)
            ),
            IndexProblem::ChecksumMismatch { recorded, computed } => {
                write!(f, "corrupt index: checksum mismatch (recorded {recorded:016x}, computed {computed:016x})")
            }
            IndexProblem::Corrupt(what) => write!(f, "corrupt index: {what}"),
        }
    }
}
