//! (being written)

use super::detect::OpenError;
use super::{Opened, Source};
use crate::error::Fault;

pub(crate) fn open(src: &mut Source) -> Result<Opened, OpenError> {
    Err(Fault::unsupported(src.offset(), "prophesee: not implemented yet").into())
}
