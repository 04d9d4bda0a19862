//! What several commands' arguments share.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use stdp_host::names::Named;

/// Most examples, windows or checkpoint intervals a flag may name.
pub const MAX_COUNT: u64 = 1_000_000_000;

/// A count of examples: 1 to [`MAX_COUNT`] (0 would run nothing and
/// write an empty result).
pub fn count() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=MAX_COUNT)
}

/// clap's parser for one of the library's named choices: the names are
/// listed as possible values (in help and in the error for a wrong one).
pub fn choice<T: Named + Clone + Send + Sync>() -> impl TypedValueParser<Value = T> {
    parser(T::NAMES.iter().copied())
}

/// [`choice`] among `values` only (e.g. the rules a run learns with, not
/// the core's `none`), listed in their order.
pub fn choice_of<T: Named + Clone + Send + Sync>(values: &'static [T]) -> impl TypedValueParser<Value = T> {
    parser(values.iter().map(|v| v.name()))
}

fn parser<T: Named + Clone + Send + Sync>(
    names: impl Iterator<Item = &'static str>,
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(names).map(|s| {
        // The parser above admits only these names.
        T::from_name(&s).unwrap_or_else(|| unreachable!("{s} is one of the possible values"))
    })
}

/// The MNIST directory of a command: `--data`, else the cache directory
/// (`$STDP_DATA_DIR`, `$XDG_CACHE_HOME/stdp/mnist` or `~/.cache/stdp/mnist`),
/// where MNIST is downloaded and checked if it is missing.
pub fn data_dir(data: Option<std::path::PathBuf>) -> anyhow::Result<std::path::PathBuf> {
    data.map_or_else(stdp_host::formats::mnist::cached, Ok)
}

/// The parser of `--threads`: 1 to 256.
pub fn threads() -> clap::builder::RangedI64ValueParser<u16> {
    clap::value_parser!(u16).range(1..=256)
}

/// Threads a command uses: `requested`, or all cores. Sets rayon's pool
/// to that many, so the frozen passes (label assignment, evaluation) use
/// them too; results do not depend on the number.
pub fn use_threads(requested: Option<u16>) -> anyhow::Result<usize> {
    let n = requested.map_or_else(stdp_host::sim::shards::available_threads, usize::from);
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| anyhow::anyhow!("cannot start {n} threads: {e}"))?;
    Ok(n)
}
