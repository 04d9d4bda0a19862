//! Search spaces: which [`Config`] fields a study varies, over which range
//! and on which scale, and the default space of each learning rule.
//!
//! # The `--space` file (TOML)
//!
//! ```toml
//! # Searched parameters: a Config field (dotted for nested fields) and its range.
//! [params]
//! nu_post = { low = 1e-4, high = 1e-1, log = true }    # float, log scale
//! "exc.theta_plus_mv" = { low = 0.01, high = 0.2 }     # float, linear scale
//! min_spikes = { low = 1, high = 10, int = true }      # integer (int + log also works)
//! inhibition = { choices = ["layer", "direct"] }       # categorical
//!
//! # Optional: fields set to one value in every trial.
//! [fixed]
//! rest_ms = 0.0
//! "exc.tau_theta_ms" = 1e7
//! ```
//!
//! Names are the fields of the JSON `Config` (`host-sim train --params`),
//! with `.` between levels (`exc.theta_plus_mv`). Fields neither searched nor
//! fixed keep the paper's value (`Config::default()`); `rule` and
//! `n_neurons` come from `--rule` and `--neurons` and may not appear here.
//! `log = true` samples the logarithm uniformly (needs `low > 0`): use it for
//! rates and time constants that span decades. Every problem (unknown field,
//! `low >= high`, a float for an integer field, ...) is reported with the
//! parameter's name before any trial runs. `host-sim hpo space --rule RULE`
//! prints a rule's default space in this format.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stdp_core::Rule;

use stdp_host::config::{field_path, Config};
use stdp_host::examples::{input_for, Kind as DataKind};

/// A parameter's range: numeric (`low`, `high`, optionally `log`, `int`)
/// or categorical (`choices`). This is also its form in the study's stored
/// settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Lower bound (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    /// Upper bound (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    /// Sample the logarithm uniformly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log: bool,
    /// Integer values only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub int: bool,
    /// The values of a categorical parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<Value>>,
}

/// What a [`ParamSpec`] means, once checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind<'a> {
    /// A real number in `[low, high]`.
    Float {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
        /// Log scale.
        log: bool,
    },
    /// An integer in `[low, high]`.
    Int {
        /// Lower bound.
        low: i64,
        /// Upper bound.
        high: i64,
        /// Log scale.
        log: bool,
    },
    /// One of the choices.
    Categorical(&'a [Value]),
}

impl ParamSpec {
    /// A float parameter.
    pub fn float(low: f64, high: f64, log: bool) -> Self {
        ParamSpec {
            low: Some(low),
            high: Some(high),
            log,
            int: false,
            choices: None,
        }
    }

    /// The checked meaning of this spec.
    pub fn kind(&self) -> Result<Kind<'_>> {
        if let Some(choices) = &self.choices {
            ensure!(
                self.low.is_none() && self.high.is_none() && !self.log && !self.int,
                "`choices` cannot be combined with low/high/log/int"
            );
            ensure!(!choices.is_empty(), "`choices` is empty");
            return Ok(Kind::Categorical(choices));
        }
        let (Some(low), Some(high)) = (self.low, self.high) else {
            bail!("needs `low` and `high` (or `choices`)");
        };
        ensure!(
            low.is_finite() && high.is_finite() && low < high,
            "needs finite low < high (got low = {low}, high = {high})"
        );
        ensure!(!self.log || low > 0.0, "`log = true` needs low > 0 (got {low})");
        if self.int {
            ensure!(
                low.fract() == 0.0 && high.fract() == 0.0 && low.abs() < 1e15 && high.abs() < 1e15,
                "`int = true` needs integer bounds (got {low}, {high})"
            );
            return Ok(Kind::Int {
                low: low as i64,
                high: high as i64,
                log: self.log,
            });
        }
        Ok(Kind::Float {
            low,
            high,
            log: self.log,
        })
    }
}

impl Kind<'_> {
    /// The sampler's interval for this parameter: the logarithm for log
    /// scales; integers are widened by half a step so each gets an equal share.
    pub fn internal_range(&self) -> (f64, f64) {
        match *self {
            Kind::Float { low, high, log } => scaled(low, high, log),
            Kind::Int { low, high, log } => scaled(low as f64 - 0.5, high as f64 + 0.5, log),
            Kind::Categorical(c) => (0.0, c.len() as f64),
        }
    }

    /// The value of internal coordinate `x` (clamped into the range).
    pub fn value(&self, x: f64) -> Value {
        let (lo, hi) = self.internal_range();
        let x = x.clamp(lo, hi);
        match *self {
            // The bounds exactly (exp(ln(low)) need not be low).
            Kind::Float { low, .. } if x <= lo => Value::from(low),
            Kind::Float { high, .. } if x >= hi => Value::from(high),
            Kind::Float { low, high, log } => {
                let v = if log { x.exp() } else { x };
                Value::from(v.clamp(low, high))
            }
            Kind::Int { low, high, log } => {
                let v = if log { x.exp() } else { x };
                Value::from((v.round() as i64).clamp(low, high))
            }
            Kind::Categorical(c) => c[(x.floor() as usize).min(c.len() - 1)].clone(),
        }
    }

    /// The internal coordinate of `value` (`None` if it is not in the space).
    pub fn internal(&self, value: &Value) -> Option<f64> {
        match *self {
            Kind::Float { log, .. } | Kind::Int { log, .. } => {
                let v = value.as_f64()?;
                if log {
                    (v > 0.0).then(|| v.ln())
                } else {
                    Some(v)
                }
            }
            // The middle of the choice's cell.
            Kind::Categorical(c) => c.iter().position(|x| x == value).map(|i| i as f64 + 0.5),
        }
    }

    /// Whether plots should use a log axis.
    pub fn is_log(&self) -> bool {
        matches!(self, Kind::Float { log: true, .. } | Kind::Int { log: true, .. })
    }
}

fn scaled(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        (lo.ln(), hi.ln())
    } else {
        (lo, hi)
    }
}

/// A search space: searched parameters and fixed overrides of [`Config`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Space {
    /// Searched parameters by field name.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// Fields set to one value in every trial.
    #[serde(default)]
    pub fixed: BTreeMap<String, Value>,
}

/// One trial's parameter values, by field name.
pub type Params = BTreeMap<String, Value>;

/// A parameter as Optuna's `trial_params` table holds it: the value in
/// Optuna's internal representation (the number for floats and integers,
/// the choice's index for categorical ones) and its distribution as
/// Optuna's `distribution_to_json` writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct OptunaParam {
    /// Parameter name.
    pub name: String,
    /// Internal representation.
    pub value: f64,
    /// `{"name": "FloatDistribution", "attributes": {...}}` and the like.
    pub distribution: String,
}

impl Space {
    /// The searched parameters of `params` as Optuna's rows (fixed ones
    /// are not parameters of a trial for Optuna either).
    pub fn optuna_params(&self, params: &Params) -> Result<Vec<OptunaParam>> {
        let mut out = Vec::new();
        for (name, spec) in &self.params {
            let Some(v) = params.get(name) else { continue };
            let (value, distribution) = match spec.kind()? {
                Kind::Float { low, high, log } => (
                    v.as_f64().with_context(|| format!("'{name}' is not a number"))?,
                    serde_json::json!({"name": "FloatDistribution",
                        "attributes": {"step": null, "low": low, "high": high, "log": log}}),
                ),
                Kind::Int { low, high, log } => (
                    v.as_f64().with_context(|| format!("'{name}' is not a number"))?,
                    serde_json::json!({"name": "IntDistribution",
                        "attributes": {"log": log, "step": 1, "low": low, "high": high}}),
                ),
                Kind::Categorical(choices) => (
                    choices
                        .iter()
                        .position(|c| c == v)
                        .with_context(|| format!("'{name}': {v} is not one of its choices"))?
                        as f64,
                    serde_json::json!({"name": "CategoricalDistribution", "attributes": {"choices": choices}}),
                ),
            };
            out.push(OptunaParam {
                name: name.clone(),
                value,
                distribution: distribution.to_string(),
            });
        }
        Ok(out)
    }
}

/// The value of an Optuna `trial_params` row (internal `value`, its
/// distribution's JSON) as host-sim's parameters hold it.
pub fn from_optuna(value: f64, distribution: &str) -> Result<Value> {
    let d: Value = serde_json::from_str(distribution).context("a distribution_json that is not JSON")?;
    let attrs = &d["attributes"];
    Ok(match d["name"].as_str() {
        Some("FloatDistribution") | Some("UniformDistribution") | Some("LogUniformDistribution") => Value::from(value),
        Some("IntDistribution") | Some("IntUniformDistribution") | Some("IntLogUniformDistribution") => {
            Value::from(value.round() as i64)
        }
        Some("CategoricalDistribution") => attrs["choices"]
            .get(value as usize)
            .cloned()
            .with_context(|| format!("choice {value} out of range in {distribution}"))?,
        _ => bail!("unknown Optuna distribution {distribution}"),
    })
}

/// Fields that the command line sets.
const RESERVED: [(&str, &str); 2] = [("stdp.rule", "--rule"), ("n_neurons", "--neurons")];

impl Space {
    /// Parses and checks a `--space` file.
    pub fn load(path: &Path) -> Result<Space> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let space = Space::parse(&text).with_context(|| format!("search space {}", path.display()))?;
        Ok(space)
    }

    /// Parses and checks the TOML form.
    pub fn parse(text: &str) -> Result<Space> {
        let space: Space = toml::from_str(text)?;
        space.check()?;
        Ok(space)
    }

    /// The TOML form (what `hpo space` prints).
    pub fn to_toml(&self) -> String {
        let mut s = String::from("[params]\n");
        for (name, p) in &self.params {
            let mut fields = Vec::new();
            if let Some(c) = &p.choices {
                fields.push(format!("choices = {}", Value::from(c.clone())));
            }
            if let (Some(lo), Some(hi)) = (p.low, p.high) {
                fields.push(format!("low = {}", toml_number(lo, p.int)));
                fields.push(format!("high = {}", toml_number(hi, p.int)));
            }
            if p.log {
                fields.push("log = true".into());
            }
            if p.int {
                fields.push("int = true".into());
            }
            s.push_str(&format!("{} = {{ {} }}\n", toml_key(name), fields.join(", ")));
        }
        if !self.fixed.is_empty() {
            s.push_str("\n[fixed]\n");
            for (name, v) in &self.fixed {
                s.push_str(&format!("{} = {}\n", toml_key(name), toml_value(v)));
            }
        }
        s
    }

    /// Checks every parameter's spec and that each value of it (bounds,
    /// middle, choices) makes a valid [`Config`] field.
    pub fn check(&self) -> Result<()> {
        ensure!(!self.params.is_empty(), "the space has no [params]");
        for name in self.params.keys().chain(self.fixed.keys()) {
            if let Some((_, flag)) = RESERVED.iter().find(|(f, _)| *f == field_path(name)) {
                bail!("'{name}' is set by {flag}, not by the search space");
            }
        }
        for name in self.params.keys() {
            ensure!(!self.fixed.contains_key(name), "'{name}' is both searched and fixed");
        }
        let mut base = serde_json::to_value(self.base(DataKind::Digits))?;
        for (name, v) in &self.fixed {
            set_field(&mut base, name, v.clone()).with_context(|| format!("[fixed] {name}"))?;
        }
        for (name, p) in &self.params {
            let kind = p.kind().with_context(|| format!("parameter '{name}'"))?;
            let (lo, hi) = kind.internal_range();
            let probes: Vec<Value> = match kind {
                Kind::Categorical(c) => c.to_vec(),
                _ => vec![kind.value(lo), kind.value(0.5 * (lo + hi)), kind.value(hi)],
            };
            for v in probes {
                let mut cfg = base.clone();
                set_field(&mut cfg, name, v.clone()).with_context(|| format!("parameter '{name}'"))?;
                match serde_json::from_value::<Config>(cfg) {
                    Err(e) => {
                        let hint = if matches!(kind, Kind::Float { .. }) && e.to_string().contains("expected u") {
                            " (an integer field: add `int = true`)"
                        } else {
                            ""
                        };
                        bail!("parameter '{name}': the value {v} does not fit the Config field: {e}{hint}");
                    }
                    // The procedure's own checks (the network's come when a trial builds it).
                    Ok(c) => c
                        .check()
                        .with_context(|| format!("parameter '{name}': the value {v} is not allowed"))?,
                }
            }
        }
        serde_json::from_value::<Config>(base)
            .context("[fixed]")?
            .check()
            .context("[fixed]")?;
        Ok(())
    }

    /// The paper's defaults, with N-MNIST's event input (whose fields,
    /// `input.channels`, `input.retry`, ..., the space may fix or search)
    /// for event data or a space that names an `input` field.
    fn base(&self, kind: DataKind) -> Config {
        let names_input = self
            .params
            .keys()
            .chain(self.fixed.keys())
            .any(|n| n == "input" || n.starts_with("input."));
        let mut c = Config::default();
        if kind == DataKind::Events || names_input {
            c.input = input_for(&c.input, DataKind::Events);
            c.n_inputs = c.input.inputs().unwrap_or(c.n_inputs);
        }
        c
    }

    /// The configuration of a trial: the paper's defaults, then the rule and
    /// layer size, the fixed fields and the trial's parameters.
    pub fn config(&self, rule: Rule, neurons: usize, params: &Params, kind: DataKind) -> Result<Config> {
        let mut base = Config {
            n_neurons: neurons,
            ..self.base(kind)
        };
        base.stdp.rule = rule;
        let mut v = serde_json::to_value(base)?;
        for (name, x) in self.fixed.iter().chain(params) {
            set_field(&mut v, name, x.clone())?;
        }
        let mut cfg: Config = serde_json::from_value(v).context("the trial's parameters do not make a valid Config")?;
        // The inputs follow from the input (a `[fixed]` event input has its own count).
        cfg.n_inputs = cfg.input.inputs()?;
        cfg.check()?;
        Ok(cfg)
    }
}

/// Sets the field at dotted path `name` of a serialised [`Config`] (the STDP
/// fields also without their group: `nu_pre` is `stdp.nu_pre`, as studies
/// of the flat form named them).
fn set_field(cfg: &mut Value, name: &str, value: Value) -> Result<()> {
    let mut node = cfg;
    for part in field_path(name).split('.') {
        let Some(obj) = node.as_object_mut() else {
            bail!("'{name}' is not a Config field ('{part}' is inside a value, not a group of fields)");
        };
        let known = obj.keys().cloned().collect::<Vec<_>>();
        node = obj.get_mut(part).with_context(|| {
            format!(
                "'{name}' is not a Config field ('{part}' not among: {})",
                known.join(", ")
            )
        })?;
    }
    // A group is replaced only by a whole group (a `[fixed]` table such as
    // `"input.retry" = { kind = "gain", max = 4 }`), never by a number.
    ensure!(
        !node.is_object() || value.is_object(),
        "'{name}' is a group of fields; name one of them ('{name}.FIELD')"
    );
    *node = value;
    Ok(())
}

fn toml_key(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

fn toml_number(x: f64, int: bool) -> String {
    if int {
        format!("{}", x as i64)
    } else if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e5) {
        format!("{x:e}")
    } else {
        // Always with a decimal point, so TOML reads a float.
        let s = format!("{x:?}");
        if s.contains('.') || s.contains('e') {
            s
        } else {
            format!("{s}.0")
        }
    }
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => toml_number(n.as_f64().unwrap_or(0.0), false),
        other => other.to_string(),
    }
}

/// The default space of `rule`: what Diehl & Cook's network is most
/// sensitive to, around the paper's values. Log scales for the rates and
/// time constants (`nu_*`, `theta_plus`, `tau_theta`), linear for the rest.
/// Inhibition strength is `w_inh_exc` (the paper's inhibitory layer).
pub fn default_space(rule: Rule) -> Space {
    let mut params = BTreeMap::new();
    let mut add = |name: &str, low: f64, high: f64, log: bool| {
        params.insert(name.to_string(), ParamSpec::float(low, high, log));
    };
    // Paper: nu_post 1e-2, nu_pre 1e-4 (pair and triplet depress on pre spikes).
    match rule {
        Rule::Triplet | Rule::Pair => {
            add("nu_pre", 1e-5, 1e-3, true);
            add("nu_post", 1e-3, 1e-1, true);
        }
        // These two update on post spikes only: nu_post and the target trace x_tar (0.4).
        Rule::PowerLaw => {
            add("nu_post", 1e-4, 1e-1, true);
            add("x_tar", 0.05, 0.9, false);
            add("mu", 0.05, 1.0, false); // paper 0.2
        }
        Rule::ExpWeight => {
            add("nu_post", 1e-4, 1e-1, true);
            add("x_tar", 0.05, 0.9, false);
            add("beta", 0.2, 5.0, false); // paper 1.0
        }
        // Nothing learns, so none of the rule's parameters matters (a study
        // refuses it: `StudyRequest::check_given`).
        Rule::None => {}
    }
    add("exc.theta_plus_mv", 0.005, 0.5, true); // paper 0.05 mV
    add("exc.tau_theta_ms", 1e5, 1e8, true); // paper 1e7 ms
    add("intensity", 1.0, 4.0, false); // paper 2
    add("norm_target", 40.0, 120.0, false); // paper 78
    add("w_inh_exc", 5.0, 60.0, false); // paper 17
    add("present_ms", 150.0, 500.0, false); // paper 350 ms
    Space {
        params,
        fixed: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stdp_host::config::RULES;

    #[test]
    fn every_default_space_is_valid_and_contains_the_papers_values() {
        for rule in RULES {
            let space = default_space(rule);
            space.check().unwrap();
            let paper = serde_json::to_value(Config::default()).unwrap();
            for (name, p) in &space.params {
                let mut v = &paper;
                for part in field_path(name).split('.') {
                    v = &v[part];
                }
                let x = v.as_f64().unwrap();
                assert!(
                    p.low.unwrap() <= x && x <= p.high.unwrap(),
                    "{name} = {x} outside {p:?}"
                );
            }
        }
    }

    #[test]
    fn the_toml_form_parses_back_to_the_same_space() {
        for rule in [Rule::Triplet, Rule::PowerLaw] {
            let mut space = default_space(rule);
            space.params.insert(
                "inhibition".into(),
                ParamSpec {
                    low: None,
                    high: None,
                    log: false,
                    int: false,
                    choices: Some(vec!["layer".into(), "direct".into()]),
                },
            );
            space.params.insert(
                "min_spikes".into(),
                ParamSpec {
                    int: true,
                    ..ParamSpec::float(1.0, 10.0, false)
                },
            );
            space.fixed.insert("rest_ms".into(), Value::from(0.0));
            let text = space.to_toml();
            assert_eq!(Space::parse(&text).unwrap(), space, "{text}");
        }
    }

    /// The search spaces in docs/params (docs/results/search.md) are valid, and the tuned
    /// 100-neuron parameters lie inside the space that found them.
    #[test]
    fn the_example_search_spaces_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/params");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                Space::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
                n += 1;
            }
        }
        assert!(n >= 2, "{n} spaces in {}", dir.display());
        let space = Space::load(&dir.join("dc100-space.toml")).unwrap();
        let tuned: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("dc100-tuned.json")).unwrap()).unwrap();
        for (name, p) in &space.params {
            let mut v = &tuned;
            for part in field_path(name).split('.') {
                v = &v[part];
            }
            let x = v.as_f64().unwrap_or_else(|| panic!("{name} in dc100-tuned.json"));
            assert!(
                p.low.unwrap() <= x && x <= p.high.unwrap(),
                "{name} = {x} outside {p:?}"
            );
        }
    }

    fn err(text: &str) -> String {
        format!("{:#}", Space::parse(text).unwrap_err())
    }

    #[test]
    fn bad_space_files_are_rejected_with_the_parameters_name() {
        assert!(err("[params]\nnu_postt = { low = 1e-3, high = 1e-1 }").contains("'nu_postt' is not a Config field"));
        assert!(err("[params]\nnu_post = { low = 0.1, high = 0.01 }").contains("low < high"));
        assert!(err("[params]\nnu_post = { low = 0.0, high = 0.1, log = true }").contains("needs low > 0"));
        assert!(err("[params]\nnu_post = { lo = 0.0, high = 0.1 }").contains("unknown field `lo`"));
        let e = err("[params]\nmin_spikes = { low = 1.0, high = 9.0 }");
        assert!(e.contains("int = true"), "{e}");
        assert!(err("[params]\nexc = { low = 1.0, high = 9.0 }").contains("group of fields"));
        assert!(err("[params]\nrule = { choices = [\"pair\"] }").contains("--rule"));
        assert!(err("[params]\ninhibition = { choices = [\"layer\", \"sideways\"] }").contains("sideways"));
        assert!(err("[fixed]\nrest_ms = 0.0").contains("no [params]"));
        let e = err("[params]\npresent_ms = { low = 0.0, high = 100.0 }");
        assert!(
            e.contains("'present_ms': the value 0.0 is not allowed: present_ms must be at least one step"),
            "{e}"
        );
        let e = err("[params]\nnu_post = { low = 0.1, high = 0.2 }\n[fixed]\ndt_ms = -1.0");
        assert!(e.contains("dt_ms must be > 0"), "{e}");
        assert!(err("[params\n").contains("TOML parse error"));
    }

    #[test]
    fn internal_coordinates_round_trip_and_respect_the_bounds() {
        let log = ParamSpec::float(1e-4, 1e-1, true);
        let k = log.kind().unwrap();
        let x = k.internal(&Value::from(1e-2)).unwrap();
        assert!((k.value(x).as_f64().unwrap() - 1e-2).abs() < 1e-15);
        assert_eq!(k.value(-100.0).as_f64().unwrap(), 1e-4);
        let int = ParamSpec {
            int: true,
            ..ParamSpec::float(1.0, 3.0, false)
        };
        let k = int.kind().unwrap();
        assert_eq!(k.value(0.5), Value::from(1));
        assert_eq!(k.value(3.49), Value::from(3));
        assert_eq!(k.value(99.0), Value::from(3));
    }

    #[test]
    fn the_rule_and_the_size_are_left_to_their_flags() {
        for (name, flag) in [("rule", "--rule"), ("stdp.rule", "--rule"), ("n_neurons", "--neurons")] {
            let mut space = default_space(Rule::Triplet);
            space.fixed.insert(name.into(), Value::from("pair"));
            let e = space.check().unwrap_err().to_string();
            assert!(e.contains(&format!("'{name}' is set by {flag}")), "{name}: {e}");
        }
    }

    #[test]
    fn a_trials_config_has_the_rule_size_fixed_fields_and_parameters() {
        let mut space = default_space(Rule::Pair);
        space.fixed.insert("rest_ms".into(), Value::from(0.0));
        let mut params = Params::new();
        params.insert("exc.theta_plus_mv".into(), Value::from(0.1));
        params.insert("intensity".into(), Value::from(3.0));
        // STDP fields by their path or, as studies of the flat form named them, without it.
        params.insert("nu_pre".into(), Value::from(2e-4));
        params.insert("stdp.tau_pre_ms".into(), Value::from(15.0));
        let cfg = space.config(Rule::Pair, 10, &params, DataKind::Digits).unwrap();
        assert_eq!((cfg.stdp.nu_pre, cfg.stdp.tau_pre_ms), (2e-4, 15.0));
        assert_eq!(cfg.stdp.rule, stdp_core::Rule::Pair);
        assert_eq!(cfg.n_neurons, 10);
        assert_eq!(cfg.rest_ms, 0.0);
        assert_eq!(cfg.exc.theta_plus_mv, 0.1);
        assert_eq!(cfg.intensity, 3.0);
        assert_eq!(cfg.stdp.nu_post, Config::default().stdp.nu_post);
    }
}
