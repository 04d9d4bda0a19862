//! The presentation procedure of Diehl & Cook's network: how an example is
//! shown (Poisson rate coding at an intensity, presentation and rest
//! times, the intensity retry) and the weight normalisation before each
//! training example; and the bounds a run or a chip image is checked
//! against.
//!
//! [`crate::present`] runs it on the host and on the chip; a chip image
//! ([`crate::image`]) stores it with the model (which is why the values are
//! `f32`: both sides convert the same numbers).
//!
//! In files (feature `serde`): an object with these field names (the names
//! host-sim's configuration gives them too), every field required, unknown
//! fields refused.

use crate::Error;

/// The presentation procedure stored with a model.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Procedure {
    /// Input rate = pixel / 8 * intensity Hz, starting intensity (> 0).
    pub intensity: f32,
    /// Cap of the intensity retry (`intensity` to [`MAX_INTENSITY`]).
    pub max_intensity: f32,
    /// Presentation (ms, one step to [`MAX_PHASE_MS`]).
    pub present_ms: f32,
    /// Rest (ms, 0 to [`MAX_PHASE_MS`]; 0 resets the dynamics instead).
    pub rest_ms: f32,
    /// Fewer excitatory spikes than this: retry at a higher intensity.
    pub min_spikes: u32,
    /// Weight normalisation target (learning; sum of a neuron's input
    /// weights, in weight units, > 0).
    pub norm_target: f32,
}

/// Longest presentation or rest (ms) a model may ask for: one example's
/// phase. The host refuses longer ones when it trains, a parsed image too.
pub const MAX_PHASE_MS: f64 = 10_000.0;
/// Most steps a presentation or rest may take.
pub const MAX_PHASE_STEPS: u32 = 1_000_000;
/// Highest input intensity (rate = pixel / 8 * intensity Hz: 32 kHz).
pub const MAX_INTENSITY: f64 = 1000.0;

impl Procedure {
    /// Diehl & Cook's: intensity 2 (retried up to 32), 350 ms presentation,
    /// 150 ms rest, a retry below 5 spikes, weights normalised to 78 (784
    /// inputs).
    pub const fn diehl_cook() -> Self {
        Procedure {
            intensity: 2.0,
            max_intensity: 32.0,
            present_ms: 350.0,
            rest_ms: 150.0,
            min_spikes: 5,
            norm_target: 78.0,
        }
    }

    /// Checks the ranges at time step `dt_ms`: `0 < intensity <=
    /// max_intensity <=` [`MAX_INTENSITY`], one step `<= present_ms <=`
    /// [`MAX_PHASE_MS`], `0 <= rest_ms <=` [`MAX_PHASE_MS`], neither phase
    /// over [`MAX_PHASE_STEPS`] steps, `norm_target` finite and `> 0`. The
    /// error names the field.
    pub fn check(&self, dt_ms: f64) -> Result<(), Error> {
        let (present, rest) = (self.present_ms as f64, self.rest_ms as f64);
        let (i, imax) = (self.intensity as f64, self.max_intensity as f64);
        if !(i > 0.0 && i <= imax) {
            return Err(Error::InvalidParameter("intensity"));
        }
        if !(imax <= MAX_INTENSITY) {
            return Err(Error::InvalidParameter("max_intensity"));
        }
        if !(present >= dt_ms && present <= MAX_PHASE_MS && present / dt_ms <= MAX_PHASE_STEPS as f64) {
            return Err(Error::InvalidParameter("present_ms"));
        }
        if !((0.0..=MAX_PHASE_MS).contains(&rest) && rest / dt_ms <= MAX_PHASE_STEPS as f64) {
            return Err(Error::InvalidParameter("rest_ms"));
        }
        if !(self.norm_target > 0.0 && self.norm_target.is_finite()) {
            return Err(Error::InvalidParameter("norm_target"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diehl_cook_procedure_passes_its_checks_and_bad_fields_are_named() {
        let p = Procedure::diehl_cook();
        assert_eq!(p.check(0.5), Ok(()));
        let bad = [
            (Procedure { intensity: 0.0, ..p }, "intensity"),
            (
                Procedure {
                    max_intensity: 1.0,
                    ..p
                },
                "intensity",
            ),
            (
                Procedure {
                    max_intensity: 2000.0,
                    ..p
                },
                "max_intensity",
            ),
            (Procedure { present_ms: 0.25, ..p }, "present_ms"),
            (Procedure { rest_ms: -1.0, ..p }, "rest_ms"),
            (
                Procedure {
                    norm_target: f32::NAN,
                    ..p
                },
                "norm_target",
            ),
        ];
        for (q, name) in bad {
            assert_eq!(q.check(0.5), Err(Error::InvalidParameter(name)), "{q:?}");
        }
    }
}
