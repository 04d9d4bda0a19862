//! The numeric backend of a run, one name per backend in every command,
//! file and report: `f32`, `f64`, `fixed`.
//!
//! `float` is no backend name: it meant f32 in `train`, `eval`, `bench`
//! and `hpo` and f64 in `scenario` and `experiment`, so it is refused on
//! the command line with a message that says which to write. Files written
//! while `float` was a name (model headers, hyperparameter studies: only
//! `train` and `hpo` wrote one) still read, as f32, which is what it meant
//! there.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A numeric backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// f32: the fast float reference (training's default).
    #[serde(alias = "float")]
    F32,
    /// f64: the float reference of scenarios and experiments (reproduces
    /// Brian 2).
    F64,
    /// Q11.20 fixed point: what the chip runs.
    Fixed,
}

impl Backend {
    /// Every backend.
    pub const ALL: [Backend; 3] = [Backend::F32, Backend::F64, Backend::Fixed];

    /// The name, as written in commands, files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::F32 => "f32",
            Backend::F64 => "f64",
            Backend::Fixed => "fixed",
        }
    }

    /// The backend named `name` in a file written by `train` or `hpo`
    /// (`float` there was f32); `None` for an unknown name.
    pub fn from_file(name: &str) -> Option<Backend> {
        match name {
            "float" => Some(Backend::F32),
            n => n.parse().ok(),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a command-line backend name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownBackend(String);

impl fmt::Display for UnknownBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == "float" {
            write!(
                f,
                "`float` is ambiguous (it was f32 in train, eval, bench and hpo, f64 in scenario and experiment): \
                 write f32 or f64"
            )
        } else {
            write!(f, "unknown backend `{}`: f32, f64 or fixed", self.0)
        }
    }
}

impl std::error::Error for UnknownBackend {}

impl FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Backend::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownBackend(s.to_string()))
    }
}

/// Evaluates `$body` with `$t` the type of backend `$b` (a [`Backend`]).
#[macro_export]
macro_rules! with_backend {
    ($b:expr, $t:ident => $body:expr) => {
        match $b {
            $crate::backend::Backend::F32 => {
                type $t = f32;
                $body
            }
            $crate::backend::Backend::F64 => {
                type $t = f64;
                $body
            }
            $crate::backend::Backend::Fixed => {
                type $t = stdp_core::Fx;
                $body
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::Backend;

    #[test]
    fn names_parse_and_float_is_refused_with_a_reason() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>(), Ok(b));
            assert_eq!(serde_json::to_string(&b).unwrap(), format!("\"{b}\""));
            assert_eq!(serde_json::from_str::<Backend>(&format!("\"{b}\"")).unwrap(), b);
        }
        let e = "float".parse::<Backend>().unwrap_err().to_string();
        assert!(e.contains("ambiguous") && e.contains("f32 or f64"), "{e}");
        let e = "f16".parse::<Backend>().unwrap_err().to_string();
        assert_eq!(e, "unknown backend `f16`: f32, f64 or fixed");
        // What train and hpo wrote before: float was f32.
        assert_eq!(serde_json::from_str::<Backend>("\"float\"").unwrap(), Backend::F32);
        assert_eq!(Backend::from_file("float"), Some(Backend::F32));
        assert_eq!(Backend::from_file("fixed"), Some(Backend::Fixed));
        assert_eq!(Backend::from_file("q11.20"), None);
    }
}
