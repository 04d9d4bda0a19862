//! The format from the content: each format's magic or header, never the
//! file name alone (N-MNIST's `.bin`, which has no header, is the one case
//! where the name decides, and only when no header of another format is found).

use super::format::OpenError;
use super::{aedat2, aedat4, nmnist, prophesee, Opened, Source};
use crate::error::Fault;

/// Reads the header at the front of `src` (consuming it) and returns the
/// format's decoder for the rest.
pub(crate) fn open(src: &mut Source, headerless_is_nmnist: bool) -> Result<Opened, OpenError> {
    let head = src.fill(16)?;
    if head.starts_with(b"#!AER-DAT4.0") {
        return aedat4::open(src);
    }
    if head.starts_with(b"#!AER-DAT") {
        return aedat2::open(src);
    }
    if head.starts_with(b"%") {
        return prophesee::open(src);
    }
    if headerless_is_nmnist {
        return Ok(nmnist::open());
    }
    Err(Fault::unsupported(
        0,
        "no known header (AEDAT `#!AER-DAT`, Prophesee `%`); a headerless N-MNIST file must be named *.bin",
    )
    .into())
}
