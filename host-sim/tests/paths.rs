//! Every fast path computes the same numbers as the plain one, bit for bit:
//! a network split into shards on several threads (any number of shards,
//! both kinds of lateral inhibition, float and fixed point, with a
//! checkpoint taken at one shard count and resumed at another, with and
//! without input delays, moved between shard counts mid-run as the
//! adaptive split does), and the
//! presentation compiled for each instruction set this CPU has (SSE2, AVX2,
//! AVX-512) against the portable one.

use std::sync::OnceLock;

use stdp_core::{Fx, InhibitionKind, Real};
use stdp_host::config::Config;
use stdp_host::formats::mnist::Dataset;
use stdp_host::sim::dc::{example_rng, ExampleResult, Sim};
use stdp_host::sim::shards::ShardedSim;
use stdp_host::sim::simd;

mod common;

fn train_set() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| common::mnist().0)
}

/// Everything a sharded network holds, as bits.
#[derive(Debug, PartialEq)]
struct Snapshot {
    weights: Vec<u64>,
    theta: Vec<u64>,
    values: Vec<u64>,
    ints: Vec<u32>,
}

fn snapshot<T: Real>(s: &ShardedSim<T>) -> Snapshot {
    let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect();
    Snapshot {
        weights: bits(s.weights_f64()),
        theta: bits(s.theta_f64()),
        values: bits(s.dynamic_values()),
        ints: s.dynamic_ints(),
    }
}

/// Trains on examples `range` (learning, no reset between examples: the
/// training procedure) and returns what each example did.
fn run<T: Real>(sim: &mut ShardedSim<T>, range: std::ops::Range<usize>) -> Vec<ExampleResult> {
    let data = train_set();
    range
        .map(|i| sim.present(data.digit(i), &mut example_rng(1, 0, i as u64), true, false))
        .collect()
}

fn config(n: usize, inhibition: InhibitionKind) -> Config {
    let mut cfg = Config {
        n_neurons: n,
        inhibition,
        ..Config::default()
    };
    // Short presentations keep the test fast; the rest still steps.
    cfg.present_ms = 100.0;
    cfg
}

fn shards_agree<T: Real>(inhibition: InhibitionKind) {
    shards_agree_with::<T>(config(45, inhibition));
}

fn shards_agree_with<T: Real>(cfg: Config) {
    let w = Sim::<T>::initial_weights(&cfg, 3);
    let mut one = ShardedSim::<T>::new(&cfg, &w, None, 1).unwrap();
    let reference = run(&mut one, 0..24);
    let spikes: u32 = reference.iter().flat_map(|r| r.counts.iter()).sum();
    assert!(spikes > 100, "{spikes} spikes: the comparison would be vacuous");
    for shards in [2, 3] {
        let mut s = ShardedSim::<T>::new(&cfg, &w, None, shards).unwrap();
        // Every presentation split (the adaptive split would move this
        // small network onto one shard).
        s.set_adaptive(false).unwrap();
        assert_eq!(s.shards(), shards);
        assert_eq!(run(&mut s, 0..24), reference, "{shards} shards, {}", T::NAME);
        assert_eq!(snapshot(&s), snapshot(&one), "{shards} shards, {}", T::NAME);
    }
}

#[test]
fn shards_give_one_threads_numbers_f32_inhibitory_layer() {
    shards_agree::<f32>(InhibitionKind::Layer);
}

#[test]
fn shards_give_one_threads_numbers_f32_direct_inhibition() {
    shards_agree::<f32>(InhibitionKind::Direct);
}

#[test]
fn shards_give_one_threads_numbers_fixed() {
    shards_agree::<Fx>(InhibitionKind::Layer);
}

#[test]
fn shards_give_one_threads_numbers_f64() {
    shards_agree::<f64>(InhibitionKind::Layer);
}

#[test]
fn shards_give_one_threads_numbers_with_input_delays() {
    let cfg = Config {
        input_delay_ms: 10.0,
        ..config(45, InhibitionKind::Layer)
    };
    shards_agree_with::<f32>(cfg);
    shards_agree_with::<Fx>(cfg);
}

/// Moved between shard counts after every few presentations (what the
/// adaptive split does when the machine gets busy and quiet again): the
/// numbers of one thread.
fn moved_mid_run_agrees<T: Real>(cfg: Config) {
    let w = Sim::<T>::initial_weights(&cfg, 7);
    let mut one = ShardedSim::<T>::new(&cfg, &w, None, 1).unwrap();
    let reference = run(&mut one, 0..20);
    let mut s = ShardedSim::<T>::new(&cfg, &w, None, 2).unwrap();
    s.set_adaptive(false).unwrap();
    let mut results = Vec::new();
    for (k, shards) in [2, 1, 3, 1, 2].into_iter().enumerate() {
        s.reshard(shards).unwrap();
        assert_eq!(s.shards(), shards);
        results.extend(run(&mut s, 4 * k..4 * (k + 1)));
    }
    assert_eq!(results, reference, "{}", T::NAME);
    assert_eq!(snapshot(&s), snapshot(&one), "{}", T::NAME);
}

#[test]
fn moving_between_shard_counts_mid_run_changes_nothing() {
    moved_mid_run_agrees::<f32>(config(30, InhibitionKind::Layer));
    moved_mid_run_agrees::<f32>(config(30, InhibitionKind::Direct));
    moved_mid_run_agrees::<Fx>(config(30, InhibitionKind::Layer));
    moved_mid_run_agrees::<f64>(config(30, InhibitionKind::Layer));
    // Spikes in flight at the move (delays, no rest).
    let cfg = Config {
        input_delay_ms: 10.0,
        rest_ms: 0.0,
        ..config(30, InhibitionKind::Layer)
    };
    moved_mid_run_agrees::<f32>(cfg);
    moved_mid_run_agrees::<Fx>(cfg);
}

#[test]
fn the_adaptive_split_gives_one_threads_numbers() {
    // Adaptive (the default above one shard): it starts on one shard and
    // splits when the machine has a core to spare and splitting is cheaper
    // (what this machine does now decides); either way, one thread's
    // numbers.
    let cfg = config(30, InhibitionKind::Layer);
    let w = Sim::<f32>::initial_weights(&cfg, 4);
    let mut one = ShardedSim::<f32>::new(&cfg, &w, None, 1).unwrap();
    assert_eq!(one.adapt_stats(), None, "one shard: nothing to adapt");
    let reference = run(&mut one, 0..16);
    let mut s = ShardedSim::<f32>::new(&cfg, &w, None, 2).unwrap();
    assert_eq!((s.shards(), s.split_shards()), (1, 2));
    assert_eq!(run(&mut s, 0..16), reference);
    assert_eq!(snapshot(&s), snapshot(&one));
    let (split_share, _) = s.adapt_stats().expect("adaptive");
    assert!(split_share < 1.0, "it starts on one shard");
}

#[test]
fn a_checkpoint_of_two_shards_resumes_on_three_and_on_one() {
    resume_on_other_shard_counts(config(30, InhibitionKind::Layer));
}

#[test]
fn a_checkpoint_with_delays_in_flight_resumes_on_other_shard_counts() {
    // Examples end with a rest, during which the delayed spikes arrive;
    // with rest 0 the checkpoint (taken right after a presentation) holds
    // spikes still on their way, which must be saved and restored.
    let cfg = Config {
        input_delay_ms: 10.0,
        rest_ms: 0.0,
        ..config(30, InhibitionKind::Layer)
    };
    resume_on_other_shard_counts(cfg);
}

fn resume_on_other_shard_counts(cfg: Config) {
    let w = Sim::<f32>::initial_weights(&cfg, 5);
    let mut whole = ShardedSim::<f32>::new(&cfg, &w, None, 1).unwrap();
    run(&mut whole, 0..16);
    let mut two = ShardedSim::<f32>::new(&cfg, &w, None, 2).unwrap();
    two.set_adaptive(false).unwrap();
    run(&mut two, 0..8);
    if cfg.input_delay_ms > 0.0 && cfg.rest_ms == 0.0 {
        assert!(two.parts()[0].st.pre_hist.iter().any(|&h| h != 0), "spikes in flight");
    }
    let (weights, theta) = (two.weights_f64(), two.theta_f64());
    let (values, ints) = (two.dynamic_values(), two.dynamic_ints());
    for shards in [3, 1] {
        let mut s = ShardedSim::<f32>::new(&cfg, &weights, Some(&theta), shards).unwrap();
        s.set_adaptive(false).unwrap();
        assert!(s.restore_dynamic(&values, &ints));
        run(&mut s, 8..16);
        assert_eq!(snapshot(&s), snapshot(&whole), "resumed on {shards} shards");
    }
    let mut s = ShardedSim::<f32>::new(&cfg, &weights, Some(&theta), 2).unwrap();
    assert!(!s.restore_dynamic(&values[1..], &ints), "a wrong length is refused");
}

#[test]
fn shards_are_contiguous_and_whole_gives_the_same_network() {
    let cfg = config(10, InhibitionKind::Layer);
    let w = Sim::<f32>::initial_weights(&cfg, 1);
    let mut s = ShardedSim::<f32>::new(&cfg, &w, None, 4).unwrap();
    s.set_adaptive(false).unwrap();
    let sizes: Vec<_> = s.parts().iter().map(|p| p.cfg.n_neurons).collect();
    assert_eq!(sizes, vec![3, 3, 2, 2]);
    assert_eq!(s.weights_f64(), w.iter().map(|&x| x as f32 as f64).collect::<Vec<_>>());
    let whole = s.whole().unwrap();
    assert_eq!(whole.weights_f64(), s.weights_f64());
    // More shards than neurons: one neuron each.
    assert_eq!(ShardedSim::<f32>::new(&cfg, &w, None, 50).unwrap().split_shards(), 10);
    assert!(ShardedSim::<f32>::new(&cfg, &w[1..], None, 2).is_err());
}

fn paths_agree<T: Real>() {
    let data = train_set();
    let cfg = config(40, InhibitionKind::Layer);
    let w = Sim::<T>::initial_weights(&cfg, 2);
    let run_on = |isa: simd::Isa| {
        let mut sim = Sim::<T>::new(&cfg, &w, None).unwrap();
        sim.isa = isa;
        let results: Vec<_> = (0..12)
            .map(|i| sim.present(data.digit(i), &mut example_rng(1, 0, i as u64), true, false))
            .collect();
        let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
        (
            results,
            bits(sim.weights_f64()),
            bits(sim.theta_f64()),
            bits(sim.st.dynamic_values()),
        )
    };
    let reference = run_on(simd::Isa::Portable);
    let paths = simd::Isa::available();
    eprintln!("{}: comparing {:?} with portable", T::NAME, paths);
    for path in paths {
        assert!(run_on(path) == reference, "{} on {path} differs from portable", T::NAME);
    }
}

#[test]
fn every_instruction_set_gives_the_portable_numbers_f32() {
    paths_agree::<f32>();
}

#[test]
fn every_instruction_set_gives_the_portable_numbers_f64() {
    paths_agree::<f64>();
}

#[test]
fn every_instruction_set_gives_the_portable_numbers_fixed() {
    paths_agree::<Fx>();
}

#[test]
fn simd_paths_are_named_and_checked() {
    assert!(simd::Isa::Portable.supported());
    assert_eq!(simd::Isa::parse("portable").unwrap(), simd::Isa::Portable);
    let e = simd::Isa::parse("sse9").unwrap_err().to_string();
    assert!(e.contains("not a path") && e.contains("portable, avx2, avx512"), "{e}");
    assert_eq!(simd::Isa::best(), *simd::Isa::available().last().unwrap());
}
