//! `serde` support (feature `serde`, off by default; the chip does not use
//! it): the parameter structs in the form the host's files write them
//! (model headers, `train --params` JSON, hyperparameter studies).
//!
//! [`NeuronParams`] is written field by field in its units, with two
//! differences from the struct, so that every file written so far still
//! reads: the membrane model is two flags (`conductance`; `cuba`, left out
//! when false: [`NeuronModel::CubaLif`] needs `conductance: false`), and
//! "no decay of theta" (`tau_theta_ms` infinite) is `null`, which JSON can
//! hold. Unknown fields are refused; `threshold_block_ms` and `cuba` may be
//! left out (files older than them).
//!
//! [`StdpParams`](crate::params::StdpParams), [`Rule`](crate::params::Rule)
//! and [`TraceMode`](crate::params::TraceMode) derive theirs (in
//! `params.rs`), as does [`Procedure`](crate::procedure::Procedure) (in
//! `procedure.rs`): the struct's fields as they are, every one required and
//! no other, the enums' variants in kebab-case (`"power-law"`, `"set"`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::params::{NeuronModel, NeuronParams};

/// The file form of [`NeuronParams`] (private: only its serde impls use it).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeuronFile {
    conductance: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    cuba: bool,
    v_rest_mv: f64,
    v_reset_mv: f64,
    v_thresh_mv: f64,
    v_init_mv: f64,
    tau_m_ms: f64,
    refractory_ms: f64,
    #[serde(default)]
    threshold_block_ms: f64,
    theta_plus_mv: f64,
    tau_theta_ms: Option<f64>,
    theta_init_mv: f64,
    theta_offset_mv: f64,
    tau_ge_ms: f64,
    tau_gi_ms: f64,
    e_exc_mv: f64,
    e_inh_mv: f64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Serialize for NeuronParams {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = *self;
        NeuronFile {
            conductance: p.model == NeuronModel::Conductance,
            cuba: p.model == NeuronModel::CubaLif,
            v_rest_mv: p.v_rest_mv,
            v_reset_mv: p.v_reset_mv,
            v_thresh_mv: p.v_thresh_mv,
            v_init_mv: p.v_init_mv,
            tau_m_ms: p.tau_m_ms,
            refractory_ms: p.refractory_ms,
            threshold_block_ms: p.threshold_block_ms,
            theta_plus_mv: p.theta_plus_mv,
            tau_theta_ms: p.tau_theta_ms.is_finite().then_some(p.tau_theta_ms),
            theta_init_mv: p.theta_init_mv,
            theta_offset_mv: p.theta_offset_mv,
            tau_ge_ms: p.tau_ge_ms,
            tau_gi_ms: p.tau_gi_ms,
            e_exc_mv: p.e_exc_mv,
            e_inh_mv: p.e_inh_mv,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for NeuronParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = NeuronFile::deserialize(d)?;
        let model = match (f.conductance, f.cuba) {
            (true, true) => {
                return Err(serde::de::Error::custom(
                    "\"cuba\": true needs \"conductance\": false (synaptic currents are the current-based model)",
                ))
            }
            (true, false) => NeuronModel::Conductance,
            (false, true) => NeuronModel::CubaLif,
            (false, false) => NeuronModel::Lif,
        };
        Ok(NeuronParams {
            model,
            v_rest_mv: f.v_rest_mv,
            v_reset_mv: f.v_reset_mv,
            v_thresh_mv: f.v_thresh_mv,
            v_init_mv: f.v_init_mv,
            tau_m_ms: f.tau_m_ms,
            refractory_ms: f.refractory_ms,
            threshold_block_ms: f.threshold_block_ms,
            theta_plus_mv: f.theta_plus_mv,
            tau_theta_ms: f.tau_theta_ms.unwrap_or(f64::INFINITY),
            theta_init_mv: f.theta_init_mv,
            theta_offset_mv: f.theta_offset_mv,
            tau_ge_ms: f.tau_ge_ms,
            tau_gi_ms: f.tau_gi_ms,
            e_exc_mv: f.e_exc_mv,
            e_inh_mv: f.e_inh_mv,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::params::{NeuronModel, NeuronParams, Rule, StdpParams, TraceMode};

    #[test]
    fn stdp_parameters_round_trip_with_their_names() {
        let mut p = StdpParams::diehl_cook();
        p.trace_mode = TraceMode::Additive;
        for rule in [Rule::None, Rule::Pair, Rule::Triplet, Rule::PowerLaw, Rule::ExpWeight] {
            p.rule = rule;
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<StdpParams>(&json).unwrap(), p, "{json}");
        }
        let v = serde_json::to_value(StdpParams::diehl_cook()).unwrap();
        assert_eq!(
            (v["rule"].as_str(), v["trace_mode"].as_str()),
            (Some("triplet"), Some("set"))
        );
        assert_eq!(serde_json::to_value(Rule::PowerLaw).unwrap(), "power-law");
        assert_eq!(serde_json::to_value(Rule::ExpWeight).unwrap(), "exp-weight");
        let mut unknown = v.clone();
        unknown["nu_pree"] = 1.0.into();
        let e = serde_json::from_value::<StdpParams>(unknown).unwrap_err().to_string();
        assert!(e.contains("unknown field `nu_pree`"), "{e}");
        let mut missing = v;
        missing.as_object_mut().unwrap().remove("beta");
        let e = serde_json::from_value::<StdpParams>(missing).unwrap_err().to_string();
        assert!(e.contains("missing field `beta`"), "{e}");
    }

    #[test]
    fn parameters_round_trip_in_the_file_form() {
        let mut cuba = NeuronParams::diehl_cook_excitatory();
        cuba.model = NeuronModel::CubaLif;
        let mut lif = NeuronParams::diehl_cook_inhibitory();
        lif.model = NeuronModel::Lif;
        for p in [
            NeuronParams::diehl_cook_excitatory(),
            NeuronParams::diehl_cook_inhibitory(),
            cuba,
            lif,
        ] {
            let json = serde_json::to_string(&p).unwrap();
            let back: NeuronParams = serde_json::from_str(&json).unwrap();
            assert_eq!(back, p, "{json}");
        }
        let inh = serde_json::to_value(NeuronParams::diehl_cook_inhibitory()).unwrap();
        assert_eq!(inh["tau_theta_ms"], serde_json::Value::Null, "no decay: null");
        assert_eq!(inh["conductance"], true);
        assert!(inh.get("cuba").is_none(), "cuba is left out when false");
        assert_eq!(serde_json::to_value(cuba).unwrap()["cuba"], true);
    }

    #[test]
    fn the_model_and_inhibition_kinds_have_kebab_case_names() {
        use crate::params::{Inhibition, InhibitionKind};
        for (m, name) in [
            (NeuronModel::Lif, "lif"),
            (NeuronModel::Conductance, "conductance"),
            (NeuronModel::CubaLif, "cuba-lif"),
        ] {
            assert_eq!(serde_json::to_value(m).unwrap(), name);
            assert_eq!(serde_json::from_value::<NeuronModel>(name.into()).unwrap(), m);
        }
        for (i, name) in [
            (Inhibition::None, "none"),
            (Inhibition::Direct { w: 1.0 }, "direct"),
            (Inhibition::diehl_cook_layer(), "layer"),
        ] {
            assert_eq!(serde_json::to_value(i.kind()).unwrap(), name);
            assert_eq!(serde_json::from_value::<InhibitionKind>(name.into()).unwrap(), i.kind());
        }
    }

    #[test]
    fn the_procedure_round_trips_with_its_field_names() {
        use crate::procedure::Procedure;
        let p = Procedure {
            norm_target: 77.3,
            ..Procedure::diehl_cook()
        };
        let json = serde_json::to_string(&p).unwrap();
        let want = r#"{"intensity":2.0,"max_intensity":32.0,"present_ms":350.0,"rest_ms":150.0,"min_spikes":5,"norm_target":77.3}"#;
        assert_eq!(json, want);
        assert_eq!(serde_json::from_str::<Procedure>(&json).unwrap(), p);
        let mut unknown = serde_json::to_value(p).unwrap();
        unknown["rest"] = 1.0.into();
        let e = serde_json::from_value::<Procedure>(unknown).unwrap_err().to_string();
        assert!(e.contains("unknown field `rest`"), "{e}");
    }

    /// A layer as files written before `threshold_block_ms` and `cuba`
    /// existed hold it.
    const OLD: &str = r#"{"conductance": false, "v_rest_mv": -65.0, "v_reset_mv": -65.0,
        "v_thresh_mv": -52.0, "v_init_mv": -65.0, "tau_m_ms": 100.0, "refractory_ms": 5.0,
        "theta_plus_mv": 0.05, "tau_theta_ms": 1e7, "theta_init_mv": 20.0, "theta_offset_mv": 20.0,
        "tau_ge_ms": 1.0, "tau_gi_ms": 2.0, "e_exc_mv": 0.0, "e_inh_mv": -100.0}"#;

    #[test]
    fn older_files_read_and_bad_ones_are_refused() {
        let p: NeuronParams = serde_json::from_str(OLD).unwrap();
        assert_eq!(
            (p.model, p.threshold_block_ms, p.tau_theta_ms),
            (NeuronModel::Lif, 0.0, 1e7)
        );
        let both = OLD.replace(r#""conductance": false"#, r#""conductance": true, "cuba": true"#);
        let e = serde_json::from_str::<NeuronParams>(&both).unwrap_err().to_string();
        assert!(e.contains("\"cuba\": true needs \"conductance\": false"), "{e}");
        let unknown = OLD.replace("\"tau_m_ms\"", "\"tau_mm_ms\"");
        let e = serde_json::from_str::<NeuronParams>(&unknown).unwrap_err().to_string();
        assert!(e.contains("unknown field `tau_mm_ms`"), "{e}");
        let missing = OLD.replace(r#""e_inh_mv": -100.0"#, r#""e_exc_mv": 0.0"#);
        assert!(serde_json::from_str::<NeuronParams>(&missing).is_err());
    }
}
