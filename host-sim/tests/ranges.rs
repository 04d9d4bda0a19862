//! Every parameter of a run (flags and `--params` JSON both end in a
//! `Config`) is checked before anything runs or allocates: one table of bad
//! values with the error each must give. A value inside its range passes.

use host_sim::config::Config;
use stdp_core::Network;

/// The first error of a configuration: the procedure's check, then the
/// network's (the core's), as `train`, `hpo` and `bench` do.
fn error_of(cfg: &Config) -> Option<String> {
    if let Err(e) = cfg.check() {
        return Some(format!("{e:#}"));
    }
    Network::<f32>::new(&cfg.network()).err().map(|e| e.to_string())
}

#[test]
fn bad_values_are_refused_with_the_parameter_named() {
    type Edit = fn(&mut Config);
    let table: &[(&str, Edit, &str)] = &[
        ("no neurons", |c| c.n_neurons = 0, "n_neurons must be 1 to 65536"),
        (
            "a billion neurons",
            |c| c.n_neurons = 1_000_000_000,
            "n_neurons must be 1 to 65536",
        ),
        ("dt 0", |c| c.dt_ms = 0.0, "dt_ms must be > 0"),
        ("dt NaN", |c| c.dt_ms = f64::NAN, "dt_ms must be > 0"),
        (
            "present shorter than a step",
            |c| c.present_ms = 0.1,
            "present_ms must be at least one step",
        ),
        (
            "present 1e12 ms (hours of simulation)",
            |c| c.present_ms = 1e12,
            "present_ms and rest_ms must be <= 10000 ms",
        ),
        (
            "rest 1e12 ms",
            |c| c.rest_ms = 1e12,
            "present_ms and rest_ms must be <= 10000 ms",
        ),
        ("rest negative", |c| c.rest_ms = -1.0, "rest_ms must be >= 0"),
        ("tiny dt: 1e9 steps", |c| c.dt_ms = 1e-5, "must be <= 1000000 steps"),
        (
            "intensity 0",
            |c| c.intensity = 0.0,
            "0 < intensity <= max_intensity <= 1000",
        ),
        (
            "max intensity 1e6",
            |c| c.max_intensity = 1e6,
            "0 < intensity <= max_intensity <= 1000",
        ),
        ("norm target 0", |c| c.norm_target = 0.0, "norm_target must be > 0"),
        (
            "delays negative",
            |c| c.input_delay_ms = -1.0,
            "input_delay_ms must be in [0, 31 * dt_ms]",
        ),
        (
            "delays of 32 steps",
            |c| c.input_delay_ms = 16.0,
            "input_delay_ms must be in [0, 31 * dt_ms]",
        ),
        (
            "delays infinite",
            |c| c.input_delay_ms = f64::INFINITY,
            "input_delay_ms must be in [0, 31 * dt_ms]",
        ),
        ("other image size", |c| c.n_inputs = 100, "n_inputs must be 784"),
        ("w_max 0", |c| c.w_max = 0.0, "w_max"),
        ("nu_pre negative", |c| c.nu_pre = -1.0, "nu_pre"),
        ("tau_pre 0", |c| c.tau_pre_ms = 0.0, "tau_pre_ms"),
        ("refractory negative", |c| c.exc.refractory_ms = -1.0, "refractory_ms"),
        (
            "threshold block negative",
            |c| c.exc.threshold_block_ms = -1.0,
            "threshold_block_ms",
        ),
        ("tau_m 0", |c| c.exc.tau_m_ms = 0.0, "tau_m_ms"),
    ];
    for (what, edit, want) in table {
        let mut cfg = Config::default();
        edit(&mut cfg);
        match error_of(&cfg) {
            Some(e) => assert!(e.contains(want), "{what}: error `{e}` does not say `{want}`"),
            None => panic!("{what}: accepted"),
        }
    }
}

#[test]
fn values_at_the_edges_of_their_ranges_pass() {
    let ok: &[fn(&mut Config)] = &[
        |c| c.n_neurons = 1,
        |c| c.present_ms = 10_000.0,
        |c| c.rest_ms = 0.0,
        |c| c.input_delay_ms = 15.5,
        |c| c.exc.threshold_block_ms = 50.0,
        |c| c.max_intensity = 1000.0,
    ];
    for (k, edit) in ok.iter().enumerate() {
        let mut cfg = Config::default();
        edit(&mut cfg);
        assert_eq!(error_of(&cfg), None, "edit {k}");
    }
}
