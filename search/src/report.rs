//! `hpo report`: the best trials as a table, what pruning saved, the best
//! parameters as a JSON `Config`, and plots of the optimisation history and
//! of accuracy against each parameter.
//!
//! Time saved by pruning is an estimate: a pruned trial that trained `n` of
//! `N` examples in `t` seconds would have trained `t (N/n - 1)` seconds
//! more, plus the held-out evaluation it skipped (the median of the
//! complete trials' time outside training, less what it spent there).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

#[cfg(feature = "plots")]
use super::space::Kind;
use super::space::Params;
use super::storage::{StudyRow, StudyStore, TrialRow, TrialState};
use super::{median, rule_name, StudySettings};
use stdp_host::config::Config;
use stdp_host::text::short;
#[cfg(feature = "plots")]
use stdp_plots::scatter::{Dot, Group, Line, Scatter, XAxis};
#[cfg(feature = "plots")]
use stdp_plots::RGBColor;

/// A study with its trials, as stored.
#[derive(Debug, Clone)]
pub struct StudyReport {
    /// The study.
    pub study: StudyRow,
    /// Its settings.
    pub settings: StudySettings,
    /// Its trials in number order.
    pub trials: Vec<TrialRow>,
}

/// What pruning saved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PruningSummary {
    /// Pruned trials.
    pub pruned: usize,
    /// Seconds the finished trials took (complete + pruned + failed).
    pub spent_s: f64,
    /// Seconds the pruned trials took.
    pub pruned_s: f64,
    /// Estimated seconds the pruned trials would have taken more to finish.
    pub saved_s: f64,
}

impl StudyReport {
    /// Loads study `name` (or the only study of the database).
    pub fn load(st: &mut dyn StudyStore, name: Option<&str>) -> Result<Self> {
        let studies = st.studies()?;
        let study = match name {
            Some(n) => studies
                .into_iter()
                .find(|s| s.name == n)
                .with_context(|| format!("no study named '{n}' in the database"))?,
            None => match studies.len() {
                0 => bail!("the database holds no study"),
                1 => studies.into_iter().next().context("no study")?,
                _ => bail!(
                    "the database holds several studies ({}); choose one with --name",
                    studies.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            },
        };
        let settings: StudySettings = serde_json::from_str(&study.settings)
            .with_context(|| format!("study '{}': stored settings unreadable", study.name))?;
        let trials = st.trials(study.id)?;
        Ok(StudyReport {
            study,
            settings,
            trials,
        })
    }

    /// Complete trials, best first (ties: lower number first).
    pub fn ranked(&self) -> Vec<&TrialRow> {
        let mut v: Vec<&TrialRow> = self
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete && t.value.is_some())
            .collect();
        v.sort_by(|a, b| {
            b.value
                .unwrap_or(f64::NAN)
                .total_cmp(&a.value.unwrap_or(f64::NAN))
                .then(a.number.cmp(&b.number))
        });
        v
    }

    /// The best complete trial.
    pub fn best(&self) -> Option<&TrialRow> {
        self.ranked().into_iter().next()
    }

    /// The best trial's `Config`, as a `Config`.
    pub fn best_config(&self) -> Result<Config> {
        // In a study shared with Optuna workers the best trial may be one of
        // theirs, which has no host-sim Config: the best of host-sim's.
        let best = self
            .ranked()
            .into_iter()
            .find(|t| t.config.is_some())
            .context("the study has no complete host-sim trial yet (trials of Optuna workers carry no Config)")?;
        let text = best.config.as_deref().unwrap_or_default();
        Ok(serde_json::from_str(text)?)
    }

    /// The best trial's `Config` as pretty JSON (`host-sim train --params`).
    pub fn best_config_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(&self.best_config()?)?)
    }

    /// Counts by state.
    pub fn count(&self, state: TrialState) -> usize {
        self.trials.iter().filter(|t| t.state == state).count()
    }

    /// What pruning saved (see the module doc).
    pub fn pruning(&self) -> PruningSummary {
        let total = self.settings.train_examples as f64;
        let outside_training: Vec<f64> = self
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter_map(|t| Some(t.duration_s? - t.train_s?))
            .collect();
        let eval_s = if outside_training.is_empty() {
            0.0
        } else {
            median(&outside_training)
        };
        let mut s = PruningSummary {
            pruned: 0,
            spent_s: 0.0,
            pruned_s: 0.0,
            saved_s: 0.0,
        };
        for t in &self.trials {
            let d = t.duration_s.unwrap_or(0.0);
            s.spent_s += d;
            if t.state != TrialState::Pruned {
                continue;
            }
            s.pruned += 1;
            s.pruned_s += d;
            let (train_s, n) = (t.train_s.unwrap_or(0.0), t.examples.unwrap_or(0) as f64);
            if n > 0.0 {
                s.saved_s += train_s * (total / n - 1.0).max(0.0) + (eval_s - (d - train_s)).max(0.0);
            }
        }
        s
    }

    fn params_of(t: &TrialRow) -> Params {
        t.params
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default()
    }

    /// The best `top` trials as a Markdown table.
    pub fn table(&self, top: usize) -> String {
        let names: Vec<&String> = self.settings.space.params.keys().collect();
        let mut s = String::from("| rank | trial | accuracy | seconds |");
        for n in &names {
            let _ = write!(s, " {n} |");
        }
        s.push_str("\n|---:|---:|---:|---:|");
        s.push_str(&"---:|".repeat(names.len()));
        s.push('\n');
        for (rank, t) in self.ranked().into_iter().take(top).enumerate() {
            let p = Self::params_of(t);
            let _ = write!(
                s,
                "| {} | {} | {:.2} % | {:.1} |",
                rank + 1,
                t.number,
                100.0 * t.value.unwrap_or(f64::NAN),
                t.duration_s.unwrap_or(f64::NAN)
            );
            for n in &names {
                let cell = match p.get(*n) {
                    Some(Value::Number(x)) => short(x.as_f64().unwrap_or(f64::NAN)),
                    Some(v) => v.to_string(),
                    None => "-".into(),
                };
                let _ = write!(s, " {cell} |");
            }
            s.push('\n');
        }
        s
    }

    /// The whole text report.
    pub fn text(&self, top: usize) -> String {
        let st = &self.settings;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "study '{}': rule {}, {} neurons, {} backend, seed {}; each trial trains on {} and is scored on {} held-out training examples",
            self.study.name,
            rule_name(st.rule),
            st.neurons,
            st.backend.name(),
            st.seed,
            st.train_examples,
            st.val_examples
        );
        let _ = writeln!(
            s,
            "trials: {} complete, {} pruned, {} failed, {} running, {} waiting",
            self.count(TrialState::Complete),
            self.count(TrialState::Pruned),
            self.count(TrialState::Failed),
            self.count(TrialState::Running),
            self.count(TrialState::Waiting)
        );
        let p = self.pruning();
        if p.pruned > 0 {
            let without = p.spent_s + p.saved_s;
            let _ = writeln!(
                s,
                "pruning: {} trials stopped early after {:.1} s in all; finishing them would have taken about {:.1} s more, \
                 so pruning saved ~{:.0} % of the {:.1} s the study would have taken without it",
                p.pruned,
                p.pruned_s,
                p.saved_s,
                100.0 * p.saved_s / without.max(1e-9),
                without
            );
        } else {
            let _ = writeln!(s, "pruning: no trial pruned ({:.1} s spent)", p.spent_s);
        }
        s.push('\n');
        if self.best().is_some() {
            s.push_str(&self.table(top));
        } else {
            s.push_str("no complete trial yet\n");
        }
        let failed: Vec<&TrialRow> = self.trials.iter().filter(|t| t.state == TrialState::Failed).collect();
        if !failed.is_empty() {
            s.push_str("\nfailed trials:\n");
            for t in failed {
                let _ = writeln!(
                    s,
                    "  {} (attempt {}): {}",
                    t.number,
                    t.attempt,
                    t.error.as_deref().unwrap_or("?")
                );
            }
        }
        s
    }

    /// Without the `plots` feature: an error saying so.
    #[cfg(not(feature = "plots"))]
    pub fn plots(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        bail!(
            "cannot write figures to {}: this host-sim was built without the `plots` feature",
            dir.display()
        )
    }

    /// Writes `history` and `param_NAME` figures (PNG + SVG) to `dir`;
    /// returns their stems.
    #[cfg(feature = "plots")]
    pub fn plots(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        const COMPLETE: RGBColor = RGBColor(31, 119, 180);
        const PRUNED: RGBColor = RGBColor(170, 170, 170);
        const BEST: RGBColor = RGBColor(214, 39, 40);
        const LINE: RGBColor = RGBColor(255, 127, 14);
        let ranked = self.ranked();
        let best = ranked.first().map(|t| t.number);
        let mut written = Vec::new();

        // Optimisation history.
        let complete: Vec<&TrialRow> = self
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete && t.value.is_some())
            .collect();
        let mut best_so_far = Vec::new();
        let mut top = f64::NEG_INFINITY;
        for t in &complete {
            top = top.max(100.0 * t.value.unwrap_or(0.0));
            best_so_far.push((t.number as f64, top));
        }
        // To the last trial, as a step line.
        if let Some(last) = self.trials.last() {
            if best_so_far.last().is_some_and(|p| p.0 < last.number as f64) {
                best_so_far.push((last.number as f64, top));
            }
        }
        let best_so_far = best_so_far
            .iter()
            .enumerate()
            .flat_map(|(i, &p)| {
                let step = (i > 0).then(|| (p.0, best_so_far[i - 1].1));
                step.into_iter().chain(std::iter::once(p))
            })
            .collect();
        let dots = |ts: &[&TrialRow], color| {
            ts.iter()
                .map(|t| Dot {
                    x: t.number as f64,
                    y: 100.0 * t.value.unwrap_or(0.0),
                    color,
                })
                .collect()
        };
        let pruned: Vec<Dot> = self
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Pruned)
            .filter_map(|t| {
                Some(Dot {
                    x: t.number as f64,
                    y: 100.0 * t.intermediate.last()?.1,
                    color: PRUNED,
                })
            })
            .collect();
        let mut groups = vec![Group {
            label: "complete trial (held-out accuracy)".into(),
            color: COMPLETE,
            radius: 4,
            dots: dots(&complete, COMPLETE),
        }];
        if !pruned.is_empty() {
            groups.insert(
                0,
                Group {
                    label: "pruned trial (last running accuracy)".into(),
                    color: PRUNED,
                    radius: 3,
                    dots: pruned,
                },
            );
        }
        let stem = dir.join("history");
        Scatter {
            title: format!("Optimisation history: study '{}'", self.study.name),
            x_label: "trial".into(),
            y_label: "accuracy (%)".into(),
            x_axis: XAxis::Linear,
            groups,
            line: Some(Line {
                label: "best so far".into(),
                color: LINE,
                points: best_so_far,
            }),
            x_range: None,
        }
        .save(&stem)?;
        written.push(stem);

        // Accuracy against each parameter; later trials darker.
        let n = self.trials.len().max(2) as f64;
        let shade = |number: i64| {
            let f = (number as f64 / (n - 1.0)).clamp(0.0, 1.0);
            let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
            RGBColor(mix(158.0, 8.0), mix(202.0, 48.0), mix(225.0, 107.0))
        };
        for (name, spec) in &self.settings.space.params {
            let kind = spec.kind()?;
            let x_of = |v: &Value| -> Option<f64> {
                match kind {
                    Kind::Categorical(_) => kind.internal(v),
                    _ if kind.is_log() => v.as_f64().filter(|x| *x > 0.0).map(f64::log10),
                    _ => v.as_f64(),
                }
            };
            let mut trial_dots = Vec::new();
            let mut best_dot = Vec::new();
            for t in &complete {
                let Some(x) = Self::params_of(t).get(name).and_then(&x_of) else {
                    continue;
                };
                let d = Dot {
                    x,
                    y: 100.0 * t.value.unwrap_or(0.0),
                    color: shade(t.number),
                };
                if Some(t.number) == best {
                    best_dot.push(Dot { color: BEST, ..d });
                } else {
                    trial_dots.push(d);
                }
            }
            let x_axis = match kind {
                Kind::Categorical(c) => XAxis::Categories(
                    c.iter()
                        .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                        .collect(),
                ),
                _ if kind.is_log() => XAxis::Log10,
                _ => XAxis::Linear,
            };
            // The whole search range, so the plot shows where samples fell in it.
            let x_range = match kind {
                Kind::Float { low, high, log } => Some(if log { (low.log10(), high.log10()) } else { (low, high) }),
                Kind::Int { low, high, log } => {
                    let (lo, hi) = (low as f64, high as f64);
                    Some(if log { (lo.log10(), hi.log10()) } else { (lo, hi) })
                }
                Kind::Categorical(_) => None,
            };
            let file = name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
            let stem = dir.join(format!("param_{file}"));
            Scatter {
                title: format!("Accuracy against {name}"),
                x_label: if kind.is_log() {
                    format!("{name} (log scale)")
                } else {
                    name.clone()
                },
                y_label: "held-out accuracy (%)".into(),
                x_axis,
                groups: vec![
                    Group {
                        label: "complete trial (darker: later)".into(),
                        color: shade(self.trials.len() as i64 / 2),
                        radius: 4,
                        dots: trial_dots,
                    },
                    Group {
                        label: "best trial".into(),
                        color: BEST,
                        radius: 6,
                        dots: best_dot,
                    },
                ],
                line: None,
                x_range,
            }
            .save(&stem)?;
            written.push(stem);
        }
        Ok(written)
    }
}
