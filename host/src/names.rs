//! The fixed names of the library's choices (a learning rule, an
//! inhibition, a benchmark setting, an experiment, ...), as commands and
//! files spell them, without a command-line library: the binary lists
//! [`Named::NAMES`] (or a subset of the values, `args::choice_of`) as
//! clap's possible values and parses with [`Named::from_name`].
//!
//! The network's choices are the core's own types ([`Rule`],
//! [`NeuronModel`], [`TraceMode`], [`InhibitionKind`], [`Correlation`]),
//! named here by the spelling of their serde form (kebab-case), so that a
//! new variant is added in the core once and the compiler asks for its
//! name here.

use stdp_core::trains::Correlation;
use stdp_core::{InhibitionKind, NeuronModel, Rule, TraceMode};

/// A choice spelled by fixed names.
pub trait Named: Copy + 'static {
    /// Every name, in the order help lists them.
    const NAMES: &'static [&'static str];
    /// The name of this value.
    fn name(self) -> &'static str;
    /// The value named `name`.
    fn from_name(name: &str) -> Option<Self>;
}

/// Implements [`Named`] for a field-less enum from `Variant = "name"`
/// pairs (`name` is an exhaustive match: a new variant without a name does
/// not compile).
#[macro_export]
macro_rules! named {
    ($t:ident { $($v:ident = $n:literal),+ $(,)? }) => {
        impl $crate::names::Named for $t {
            const NAMES: &'static [&'static str] = &[$($n),+];
            fn name(self) -> &'static str {
                match self {
                    $($t::$v => $n),+
                }
            }
            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($n => Some($t::$v),)+
                    _ => None,
                }
            }
        }
    };
}

crate::named!(Rule { None = "none", Pair = "pair", Triplet = "triplet", PowerLaw = "power-law", ExpWeight = "exp-weight" });
crate::named!(NeuronModel { Lif = "lif", Conductance = "conductance", CubaLif = "cuba-lif" });
crate::named!(TraceMode { Set = "set", Additive = "additive" });
crate::named!(InhibitionKind { None = "none", Direct = "direct", Layer = "layer" });
crate::named!(Correlation { Mip = "mip", Mixture = "mixture" });

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name reads back as its value, and is the spelling of files
    /// (the core's serde form, kebab-case).
    fn names_round_trip<T: Named + PartialEq + std::fmt::Debug + serde::Serialize>() {
        for &n in T::NAMES {
            let v = T::from_name(n).unwrap();
            assert_eq!(v.name(), n);
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{n}\""));
        }
    }

    #[test]
    fn names_round_trip_and_match_the_file_spelling() {
        names_round_trip::<Rule>();
        names_round_trip::<NeuronModel>();
        names_round_trip::<TraceMode>();
        names_round_trip::<InhibitionKind>();
        assert_eq!(Rule::from_name("Triplet"), None);
        for &n in Correlation::NAMES {
            assert_eq!(Correlation::from_name(n).map(Named::name), Some(n));
        }
    }
}
