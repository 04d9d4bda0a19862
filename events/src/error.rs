//! The one error of this crate: which input, where in it, what is wrong.

use std::fmt;

/// What went wrong reading or writing event data, with where: the input's
/// name (a path, or what the caller called it) and the byte offset of the
/// record at fault. Displayed as one line:
/// `recording.raw: byte 1,234: EVT 3.0 vector word before any time word`.
#[derive(Debug)]
pub struct Error {
    /// The input or output: a path or a caller's name for a buffer.
    pub name: String,
    /// Byte offset in the input of the record at fault, if one is.
    pub offset: Option<u64>,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// The kinds of [`Error`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The operating system refused a read or a write.
    Io(std::io::Error),
    /// The bytes break the format's rules (truncated, bad header, absurd size).
    Format(String),
    /// A valid file of something this crate does not read (another sensor, a version).
    Unsupported(String),
    /// A caller's argument is out of range (a crop outside the sensor, a zero bin).
    Argument(String),
}

impl Error {
    /// An I/O error of `name`.
    pub fn io(name: impl Into<String>, e: std::io::Error) -> Self {
        Error {
            name: name.into(),
            offset: None,
            kind: ErrorKind::Io(e),
        }
    }
    /// An argument error, not tied to a byte of input.
    pub fn argument(name: impl Into<String>, what: impl Into<String>) -> Self {
        Error {
            name: name.into(),
            offset: None,
            kind: ErrorKind::Argument(what.into()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.name)?;
        if let Some(at) = self.offset {
            write!(f, "byte {}: ", group(at))?;
        }
        match &self.kind {
            ErrorKind::Io(e) => write!(f, "{e}"),
            ErrorKind::Format(s) => write!(f, "{s}"),
            ErrorKind::Unsupported(s) => write!(f, "unsupported: {s}"),
            ErrorKind::Argument(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A fault found by a decoder at a byte offset, before the reader names the input.
#[derive(Debug)]
pub(crate) struct Fault {
    pub offset: u64,
    pub kind: ErrorKind,
}

impl Fault {
    /// The bytes at `offset` break the format.
    pub fn format(offset: u64, what: impl Into<String>) -> Self {
        Fault {
            offset,
            kind: ErrorKind::Format(what.into()),
        }
    }
    /// The input at `offset` is valid but not something we read.
    pub fn unsupported(offset: u64, what: impl Into<String>) -> Self {
        Fault {
            offset,
            kind: ErrorKind::Unsupported(what.into()),
        }
    }
    /// The error of input `name`.
    pub fn named(self, name: &str) -> Error {
        Error {
            name: name.to_string(),
            offset: Some(self.offset),
            kind: self.kind,
        }
    }
}

/// `1234567` as `1,234,567`, as offsets read best in an error line.
pub(crate) fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_line_names_input_offset_and_fault() {
        let e = Fault::format(1_234_567, "truncated record").named("a.bin");
        assert_eq!(e.to_string(), "a.bin: byte 1,234,567: truncated record");
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
    }
}
