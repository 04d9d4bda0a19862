//! The fixed names of the library's choices (a learning rule, an
//! inhibition, a benchmark setting, an experiment, ...), as commands and
//! files spell them, without a command-line library: the binary lists
//! [`Named::NAMES`] as clap's possible values and parses with
//! [`Named::from_name`].

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

#[cfg(test)]
mod tests {
    use super::Named;
    use crate::config::RuleArg;

    #[test]
    fn names_round_trip_and_match_the_file_spelling() {
        for &n in RuleArg::NAMES {
            let r = RuleArg::from_name(n).unwrap();
            assert_eq!(r.name(), n);
            // The same spelling as in files (serde's kebab-case).
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{n}\""));
        }
        assert_eq!(RuleArg::from_name("Triplet"), None);
    }
}
