//! What several commands' arguments share.

/// Most examples, windows or checkpoint intervals a flag may name.
pub const MAX_COUNT: u64 = 1_000_000_000;

/// A count of examples: 1 to [`MAX_COUNT`] (0 would run nothing and
/// write an empty result).
pub fn count() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=MAX_COUNT)
}
