//! Event input (`stdp_core::present_events`): the layout of pixels and
//! polarities, the binning of event times to steps, the drops, the retry
//! options, and presentations through the network on both backends,
//! checked against values worked out by hand or against the network
//! stepped by hand with events binned by this file's own arithmetic.
//!
//! Tolerances: conductances after an input are compared exactly (ge += w
//! is one addition, exact in Q11.20 and in f64 for the values used);
//! everything else is bit-identical by construction (the same operations
//! in the same order).

mod common;

use std::sync::{Arc, Barrier, Mutex};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use stdp_core::image::Procedure;
use stdp_core::present_events::{
    present_events, present_events_shard, EventBins, EventInput, EventLayout, EventSource, EventStats, EventsOutput,
    IterSource, Polarity, Retry, SliceSource, Start,
};
use stdp_core::shard::{shard_range, Alone, Collective};
use stdp_core::{
    Error, Event, Fx, Inhibition, Network, NetworkBuffers, NetworkParams, NeuronModel, NeuronParams, QuantizedWeights,
    Real, Rule, State, StdpParams, TraceMode,
};

const DT: f64 = 0.5;
/// dt in µs.
const DT_US: u64 = 500;
/// NetworkBuffers capacity of the rigs.
const IN: usize = 64;
const N: usize = 4;

// ---------------------------------------------------------------- layout

#[test]
fn pairs_layout_puts_off_then_on_of_a_pixel_side_by_side() {
    let l = EventLayout::NMNIST;
    assert_eq!((l.columns(), l.rows(), l.channels(), l.inputs()), (34, 34, 2, 2312));
    let at = |x, y, on| l.input(&Event::new(0, x, y, on));
    assert_eq!(at(0, 0, false), Some(0));
    assert_eq!(at(0, 0, true), Some(1));
    assert_eq!(at(1, 0, false), Some(2));
    assert_eq!(at(0, 1, false), Some(68));
    assert_eq!(at(5, 7, true), Some((7 * 34 + 5) * 2 + 1));
    assert_eq!(at(33, 33, true), Some(2311));
}

#[test]
fn merged_layout_maps_both_polarities_to_one_input() {
    let l = EventLayout::new(34, 34, Polarity::Merged, 1).unwrap();
    assert_eq!((l.channels(), l.inputs()), (1, 1156));
    for (x, y) in [(0, 0), (5, 7), (33, 33)] {
        let want = Some(y * 34 + x);
        assert_eq!(l.input(&Event::new(0, x, y, true)), want);
        assert_eq!(l.input(&Event::new(0, x, y, false)), want);
    }
}

#[test]
fn downsample_maps_each_block_of_pixels_to_one_cell() {
    // 34 / 4: cells of 4 x 4 pixels, the last row and column of cells
    // only 2 pixels wide: ceil(34 / 4) = 9.
    for polarity in [Polarity::Pairs, Polarity::Merged] {
        let l = EventLayout::new(34, 34, polarity, 4).unwrap();
        let ch = l.channels();
        assert_eq!((l.columns(), l.rows(), l.inputs()), (9, 9, 81 * ch));
        for y in 0..34u16 {
            for x in 0..34u16 {
                for on in [false, true] {
                    let cell = (y / 4) as usize * 9 + (x / 4) as usize;
                    let want = cell * ch + if ch == 2 { on as usize } else { 0 };
                    assert_eq!(l.input(&Event::new(0, x, y, on)), Some(want as u16), "({x}, {y}, {on})");
                }
            }
        }
    }
    // A factor that does not divide: 10 pixels by 3 is 4 cells (the last one pixel wide).
    let l = EventLayout::new(10, 1, Polarity::Merged, 3).unwrap();
    assert_eq!(l.inputs(), 4);
    assert_eq!(l.input(&Event::new(0, 9, 0, true)), Some(3));
}

#[test]
fn locate_inverts_input() {
    for l in [
        EventLayout::NMNIST,
        EventLayout::new(34, 34, Polarity::Merged, 1).unwrap(),
        EventLayout::new(34, 30, Polarity::Pairs, 3).unwrap(),
    ] {
        let f = l.downsample();
        for y in 0..l.height() {
            for x in 0..l.width() {
                for on in [false, true] {
                    let i = l.input(&Event::new(0, x, y, on)).unwrap();
                    let p = (l.polarity() == Polarity::Pairs).then_some(on);
                    assert_eq!(l.locate(i), Some((x / f, y / f, p)));
                }
            }
        }
        assert_eq!(l.locate(l.inputs() as u16), None);
    }
}

#[test]
fn events_outside_the_sensor_have_no_input() {
    let l = EventLayout::new(4, 3, Polarity::Pairs, 1).unwrap();
    assert_eq!(l.input(&Event::new(0, 4, 0, true)), None);
    assert_eq!(l.input(&Event::new(0, 0, 3, true)), None);
    assert_eq!(l.input(&Event::new(0, u16::MAX, u16::MAX, false)), None);
    assert_eq!(l.input(&Event::new(0, 3, 2, true)), Some(23));
}

#[test]
fn layouts_out_of_range_are_refused() {
    let bad = |w, h, p, f| EventLayout::new(w, h, p, f).unwrap_err();
    assert_eq!(
        bad(0, 34, Polarity::Pairs, 1),
        Error::InvalidParameter("event layout size")
    );
    assert_eq!(
        bad(34, 0, Polarity::Pairs, 1),
        Error::InvalidParameter("event layout size")
    );
    assert_eq!(
        bad(34, 34, Polarity::Pairs, 0),
        Error::InvalidParameter("event layout downsample")
    );
    // 1280 x 720 pairs: 1.8 million inputs; by 8: 160 x 90 x 2 = 28,800.
    assert_eq!(
        bad(1280, 720, Polarity::Pairs, 1),
        Error::InvalidParameter("event layout inputs")
    );
    assert_eq!(
        EventLayout::new(1280, 720, Polarity::Pairs, 8).unwrap().inputs(),
        28_800
    );
    // 65,535 inputs (a network's most) is the most: 255 x 257 merged.
    assert_eq!(
        EventLayout::new(255, 257, Polarity::Merged, 1).unwrap().inputs(),
        stdp_core::MAX_INPUTS
    );
    assert!(EventLayout::new(256, 256, Polarity::Merged, 1).is_err());
    assert!(EventLayout::new(256, 128, Polarity::Pairs, 1).is_err());
}

// --------------------------------------------------------------- binning

/// Every step's list of input spikes from `bins` over `events`.
fn binned(mut bins: EventBins, events: &[Event], cap: usize) -> (Vec<Vec<u16>>, EventStats) {
    let mut src = SliceSource::new(events);
    let mut buf = vec![0u16; cap];
    let mut steps = Vec::new();
    while let Some(m) = bins.next_step(&mut src, &mut buf) {
        steps.push(buf[..m].to_vec());
    }
    bins.finish(&mut src);
    (steps, bins.stats())
}

const L43: EventLayout = EventLayout::NMNIST;

fn ev(t: u64, x: u16) -> Event {
    Event::new(t, x, 0, true)
}
/// The input of [`ev`]`(_, x)` in [`L43`].
fn inp(x: u16) -> u16 {
    x * 2 + 1
}

#[test]
fn an_event_at_t0_plus_k_dt_lands_in_step_k() {
    let t0 = 7_123;
    // x encodes the expected step; each step gets its first and its last µs.
    let mut events = Vec::new();
    for k in [0u64, 1, 2, 5, 9] {
        events.push(ev(t0 + k * DT_US, k as u16));
        events.push(ev(t0 + k * DT_US + DT_US - 1, k as u16));
    }
    let (steps, stats) = binned(EventBins::new(L43, DT, 10, Start::FirstEvent).unwrap(), &events, 16);
    assert_eq!(steps.len(), 10);
    for (k, list) in steps.iter().enumerate() {
        let want: Vec<u16> = if [0, 1, 2, 5, 9].contains(&k) {
            vec![inp(k as u16); 2]
        } else {
            vec![]
        };
        assert_eq!(*list, want, "step {k}");
    }
    assert_eq!((stats.read, stats.delivered), (10, 10));
}

#[test]
fn a_given_start_drops_earlier_events_and_counts_them() {
    let events = [ev(900, 1), ev(999, 2), ev(1000, 3), ev(1499, 4), ev(1500, 5)];
    let (steps, stats) = binned(EventBins::new(L43, DT, 2, Start::At(1000)).unwrap(), &events, 16);
    assert_eq!(steps, [vec![inp(3), inp(4)], vec![inp(5)]]);
    assert_eq!((stats.outside_window, stats.delivered, stats.read), (2, 3, 5));
}

#[test]
fn events_at_or_after_the_window_end_are_dropped_and_counted() {
    // 3 steps from t0 = 0: the window is [0, 1500) µs.
    let events = [ev(0, 0), ev(1499, 1), ev(1500, 2), ev(90_000, 3), ev(90_001, 4)];
    let (steps, stats) = binned(EventBins::new(L43, DT, 3, Start::FirstEvent).unwrap(), &events, 16);
    assert_eq!(steps, [vec![inp(0)], vec![], vec![inp(1)]]);
    assert_eq!((stats.outside_window, stats.delivered, stats.read), (3, 2, 5));
}

#[test]
fn events_out_of_time_order_are_delivered_late_and_counted() {
    // The third event is earlier than the second's step: delivered in step 2.
    let events = [ev(0, 0), ev(1200, 1), ev(300, 2), ev(1300, 3)];
    let (steps, stats) = binned(EventBins::new(L43, DT, 3, Start::FirstEvent).unwrap(), &events, 16);
    assert_eq!(steps, [vec![inp(0)], vec![], vec![inp(1), inp(2), inp(3)]]);
    assert_eq!((stats.late, stats.delivered), (1, 4));
}

#[test]
fn a_full_step_buffer_drops_the_rest_and_counts_them() {
    let events: Vec<Event> = (0..5).map(|x| ev(10, x)).collect();
    let (steps, stats) = binned(EventBins::new(L43, DT, 1, Start::FirstEvent).unwrap(), &events, 3);
    assert_eq!(steps, [vec![inp(0), inp(1), inp(2)]]);
    assert_eq!((stats.overflow, stats.delivered), (2, 3));
    // With gain 2 an event needs two slots: one fits in 3.
    let bins = EventBins::new(L43, DT, 1, Start::FirstEvent).unwrap().with_gain(2);
    let (steps, stats) = binned(bins, &events, 3);
    assert_eq!(steps, [vec![inp(0), inp(0)]]);
    assert_eq!((stats.overflow, stats.delivered), (4, 1));
}

#[test]
fn gain_delivers_each_event_that_many_times() {
    let events = [ev(0, 0), ev(600, 1)];
    let bins = EventBins::new(L43, DT, 2, Start::FirstEvent).unwrap().with_gain(3);
    let (steps, _) = binned(bins, &events, 16);
    assert_eq!(steps, [vec![inp(0); 3], vec![inp(1); 3]]);
}

#[test]
fn one_per_input_merges_coincident_events_and_counts_them() {
    let events = [ev(0, 0), ev(10, 1), ev(20, 0), ev(30, 0), ev(600, 0)];
    let bins = EventBins::new(L43, DT, 2, Start::FirstEvent)
        .unwrap()
        .one_per_input(true);
    let (steps, stats) = binned(bins, &events, 16);
    assert_eq!(steps, [vec![inp(0), inp(1)], vec![inp(0)]]);
    assert_eq!((stats.merged, stats.delivered), (2, 5));
}

#[test]
fn every_event_read_is_counted_once() {
    let l = EventLayout::new(4, 3, Polarity::Pairs, 1).unwrap();
    let events = recording(3, 400, 5, 4, 60_000);
    let (_, s) = binned(EventBins::new(l, DT, 80, Start::At(2_000)).unwrap(), &events, 4);
    assert_eq!(s.read as usize, events.len());
    assert_eq!(s.read, s.delivered + s.outside_sensor + s.outside_window + s.overflow);
    assert!(s.outside_sensor > 0 && s.outside_window > 0 && s.overflow > 0, "{s:?}");
}

#[test]
fn a_time_step_that_is_not_a_whole_number_of_nanoseconds_is_refused() {
    assert!(EventBins::new(L43, 0.1, 1, Start::FirstEvent).is_ok());
    assert!(EventBins::new(L43, 1.0 / 3.0, 1, Start::FirstEvent).is_err());
    assert!(EventBins::new(L43, 1e-7, 1, Start::FirstEvent).is_err());
    assert!(EventBins::new(L43, 0.0, 1, Start::FirstEvent).is_err());
    assert!(EventBins::new(L43, f64::NAN, 1, Start::FirstEvent).is_err());
}

#[test]
fn iterator_sources_rewind_to_their_start() {
    let events = [ev(0, 0), ev(600, 1)];
    let mut src = IterSource::new(events.iter().copied());
    assert_eq!(src.next_event(), Some(events[0]));
    assert!(src.rewind());
    assert_eq!(src.next_event(), Some(events[0]));
    assert_eq!(src.next_event(), Some(events[1]));
    assert_eq!(src.next_event(), None);
}

// ------------------------------------------------------------ the network

/// A random recording on a `w` x `h` sensor: `n` events over `span_us` µs
/// from t = 1000 µs in time order, a quarter of them repeating the one
/// before (same input, same time: several events of one input in a step),
/// one in twenty outside the sensor (x = w).
fn recording(seed: u64, n: usize, w: u16, h: u16, span_us: u64) -> Vec<Event> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut times: Vec<u64> = (0..n).map(|_| 1000 + rng.gen_range(0..span_us)).collect();
    times.sort_unstable();
    let mut out: Vec<Event> = Vec::with_capacity(n);
    for t in times {
        let e = match out.last() {
            Some(&last) if rng.gen_bool(0.25) => Event { t, ..last },
            _ if rng.gen_bool(0.05) => Event::new(t, w, rng.gen_range(0..h), rng.gen()),
            _ => Event::new(t, rng.gen_range(0..w), rng.gen_range(0..h), rng.gen()),
        };
        out.push(e);
    }
    out
}

fn procedure(present_ms: f32, rest_ms: f32, min_spikes: u32, norm_target: f32) -> Procedure {
    Procedure {
        intensity: 1.0,
        max_intensity: 1.0,
        present_ms,
        rest_ms,
        min_spikes,
        norm_target,
    }
}

/// One current-based LIF neuron per the rules.rs test network: v_rest =
/// v_reset = -65 mV, threshold -64.5 mV, tau_m = 20 ms, no refractory
/// period, no threshold adaptation, no inhibition.
fn lif(n_inputs: usize, n: usize, rule: Rule) -> NetworkParams {
    NetworkParams {
        n_inputs,
        n_neurons: n,
        dt_ms: DT,
        exc: NeuronParams {
            model: NeuronModel::Lif,
            v_rest_mv: -65.0,
            v_reset_mv: -65.0,
            v_thresh_mv: -64.5,
            v_init_mv: -65.0,
            tau_m_ms: 20.0,
            refractory_ms: 0.0,
            threshold_block_ms: 0.0,
            theta_plus_mv: 0.0,
            tau_theta_ms: f64::INFINITY,
            theta_init_mv: 0.0,
            theta_offset_mv: 0.0,
            tau_ge_ms: 1.0,
            tau_gi_ms: 2.0,
            e_exc_mv: 0.0,
            e_inh_mv: -100.0,
        },
        stdp: StdpParams {
            rule,
            trace_mode: TraceMode::Set,
            nu_pre: 0.01,
            nu_post: 0.05,
            tau_pre_ms: 16.0,
            tau_post1_ms: 10.0,
            tau_post2_ms: 40.0,
            w_max: 1.0,
            x_tar: 0.0,
            mu: 0.5,
            beta: 1.0,
        },
        inhibition: Inhibition::None,
    }
}

/// Diehl & Cook's network on a small layout, with theta starting at 8 mV
/// (threshold -64 mV) so that a few inputs make it fire.
fn dc(n_inputs: usize, n: usize) -> NetworkParams {
    let mut p = NetworkParams::diehl_cook(n_inputs, n);
    p.exc.theta_init_mv = 8.0;
    p
}

struct Rig<T: Real> {
    net: Network<T>,
    store: Box<NetworkBuffers<T, IN, N>>,
    delays: Vec<u8>,
    hist: Vec<u32>,
}

impl<T: Real> Rig<T> {
    /// `w(i, j)`: the initial weight of input i onto neuron j.
    fn new(p: &NetworkParams, w: impl Fn(usize, usize) -> f64) -> Self {
        let net = Network::<T>::new(p).unwrap();
        let mut rig = Rig {
            net,
            store: Box::new(NetworkBuffers::new()),
            delays: Vec::new(),
            hist: Vec::new(),
        };
        let n = p.n_neurons;
        let net = rig.net;
        let mut s = rig.state();
        net.init_state(&mut s).unwrap();
        for (k, x) in s.weights.iter_mut().enumerate() {
            *x = T::from_f64(w(k / n, k % n));
        }
        rig
    }

    /// With input delays `d(i, j)` (steps).
    fn with_delays(mut self, d: impl Fn(usize, usize) -> u8) -> Self {
        let (ni, n) = (self.net.n_inputs(), self.net.n_neurons());
        self.delays = (0..ni * n).map(|k| d(k / n, k % n)).collect();
        self.hist = vec![0; ni];
        self
    }

    fn state(&mut self) -> State<'_, T> {
        let mut s = self.store.state(&self.net).unwrap();
        s.delays = &self.delays;
        s.pre_hist = &mut self.hist;
        s
    }

    /// Presents `events` with a 256-spike step buffer; returns the output
    /// and the counts.
    fn present(
        &mut self,
        events: &[Event],
        input: &EventInput,
        p: &Procedure,
        learn: bool,
    ) -> Result<(EventsOutput, Vec<u32>), Error> {
        let mut counts = vec![0u32; self.net.n_neurons()];
        let mut spikes = [0u16; 256];
        let mut s = self.store.state(&self.net).unwrap();
        s.delays = &self.delays;
        s.pre_hist = &mut self.hist;
        let mut src = SliceSource::new(events);
        let o = present_events(
            &mut self.net,
            &mut s,
            None,
            &mut src,
            input,
            p,
            learn,
            false,
            &mut spikes,
            &mut counts,
        )?;
        Ok((o, counts))
    }

    fn ge(&mut self) -> Vec<f64> {
        self.state().exc.ge.iter().map(|x| x.to_f64()).collect()
    }
    fn weights(&mut self) -> Vec<u64> {
        self.state().weights.iter().map(|x| x.to_f64().to_bits()).collect()
    }
}

/// Every state variable, as bits.
fn snapshot<T: Real>(s: &State<'_, T>) -> Vec<u64> {
    let bits = |x: &[T]| x.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>();
    let mut out = vec![*s.step as u64, *s.post_step as u64];
    for l in [&s.exc, &s.inh] {
        out.extend(bits(l.v));
        out.extend(bits(l.ge));
        out.extend(bits(l.gi));
        out.extend(bits(l.theta));
        out.extend(l.refractory.iter().map(|&r| r as u64));
        out.extend(l.spiked.iter().map(|&b| b as u64));
    }
    out.extend(bits(s.weights));
    out.extend(bits(s.x_pre));
    out.extend(s.pre_last.iter().map(|&r| r as u64));
    out.extend(s.pre_hist.iter().map(|&r| r as u64));
    out.extend(bits(s.x_post1));
    out.extend(bits(s.x_post2));
    out
}

on_backends!(
    exact:
    an_event_at_t0_plus_k_dt_raises_ge_in_step_k,
    two_events_of_one_input_in_one_step_deliver_twice_the_conductance,
    events_outside_the_sensor_are_dropped_and_counted_and_change_nothing,
    learning_changes_only_the_weights_of_the_inputs_that_fired,
    the_same_recording_gives_bit_identical_results,
    the_collective_version_alone_equals_the_plain_one,
    a_network_split_in_shards_equals_one_network,
    present_events_equals_the_network_stepped_by_hand,
    input_delays_deliver_an_event_its_delay_later,
    coincident_events_with_input_delays_merge_into_one_spike,
    gain_retry_replays_with_more_copies_until_enough_spikes,
    threshold_retry_lowers_the_threshold_and_restores_theta,
    no_retry_shows_the_recording_once,
    a_source_that_cannot_rewind_ends_the_retries,
    the_rest_follows_the_window,
    read_only_weights_give_the_counts_of_the_same_weights,
);

/// A 4 x 1 sensor in pairs (8 inputs), conductance neurons, no learning.
fn conductance_rig<T: Real>() -> (Rig<T>, EventLayout) {
    let l = EventLayout::new(4, 1, Polarity::Pairs, 1).unwrap();
    let mut p = NetworkParams::diehl_cook(8, 2);
    p.stdp.rule = Rule::None;
    p.inhibition = Inhibition::None;
    // Input i onto neuron j: (i + 1) / 16 + j / 4.
    (Rig::new(&p, |i, j| (i + 1) as f64 / 16.0 + j as f64 / 4.0), l)
}

/// An event at t0 + k dt reaches the neurons in step k: after a window of
/// exactly k + 1 steps (rest 0) ge is exactly w, one step later than an
/// event in step k - 1 would leave it (w decayed), and an event one µs
/// earlier, in step k - 1, leaves w decayed by one step.
fn an_event_at_t0_plus_k_dt_raises_ge_in_step_k<T: Real>() {
    let (mut rig, l) = conductance_rig::<T>();
    let input = EventInput {
        start: Start::At(10_000),
        ..EventInput::new(l)
    };
    let w = |j: usize| T::from_f64(3.0 / 16.0 + j as f64 / 4.0).to_f64(); // input 2 = pixel (1, 0) OFF
    for k in [0u64, 1, 4, 9] {
        let e = [Event::new(10_000 + k * DT_US, 1, 0, false)];
        let p = procedure(((k + 1) as f64 * DT) as f32, 0.0, 0, 1.0);
        let (o, _) = rig.present(&e, &input, &p, false).unwrap();
        assert_eq!(o.events.delivered, 1);
        assert_eq!(rig.ge(), [w(0), w(1)], "event in step {k}");
        // A window one step shorter ends before the event.
        if k > 0 {
            let p = procedure((k as f64 * DT) as f32, 0.0, 0, 1.0);
            let (o, _) = rig.present(&e, &input, &p, false).unwrap();
            assert_eq!((o.events.delivered, o.events.outside_window), (0, 1));
            assert_eq!(rig.ge(), [0.0, 0.0], "window of {k} steps");
            // One µs earlier: step k - 1, decayed by one step since.
            let early = [Event::new(10_000 + k * DT_US - 1, 1, 0, false)];
            let p = procedure(((k + 1) as f64 * DT) as f32, 0.0, 0, 1.0);
            rig.present(&early, &input, &p, false).unwrap();
            let ge = rig.ge();
            for (j, &g) in ge.iter().enumerate() {
                assert!(g < w(j) && g > 0.5 * w(j), "event in step {}: ge {g}", k - 1);
            }
        }
    }
}

/// Two events of one input in one step: ge = 2 w, twice one event's.
fn two_events_of_one_input_in_one_step_deliver_twice_the_conductance<T: Real>() {
    let (mut rig, l) = conductance_rig::<T>();
    let input = EventInput::new(l);
    let p = procedure(0.5, 0.0, 0, 1.0); // 1 step
    rig.present(&[Event::new(0, 3, 0, true)], &input, &p, false).unwrap();
    let ge_one = rig.ge();
    let two = [Event::new(0, 3, 0, true), Event::new(499, 3, 0, true)];
    let (o, _) = rig.present(&two, &input, &p, false).unwrap();
    assert_eq!((o.events.delivered, o.present.input_spikes), (2, 2));
    // Input 7 (pixel 3 ON) onto neuron j: 8/16 + j/4.
    for (j, (&one, &two)) in ge_one.iter().zip(&rig.ge()).enumerate() {
        let w = T::from_f64(0.5 + j as f64 / 4.0).to_f64();
        assert_eq!(one, w, "neuron {j}");
        assert_eq!(two, 2.0 * w, "neuron {j}");
    }
}

fn events_outside_the_sensor_are_dropped_and_counted_and_change_nothing<T: Real>() {
    let (mut rig, l) = conductance_rig::<T>();
    let events = [
        Event::new(0, 4, 0, true),
        Event::new(100, 0, 1, false),
        Event::new(200, 9, 9, true),
    ];
    let (o, _) = rig
        .present(&events, &EventInput::new(l), &procedure(2.0, 0.0, 0, 1.0), false)
        .unwrap();
    assert_eq!(
        o.events,
        EventStats {
            read: 3,
            outside_sensor: 3,
            ..EventStats::default()
        }
    );
    assert_eq!(o.present.input_spikes, 0);
    assert_eq!(rig.ge(), [0.0, 0.0]);
}

/// Every rule family (x_tar = 0, so that the power-law and exp-weight
/// rules leave a synapse without presynaptic trace alone: with x_tar > 0
/// they depress every synapse of a neuron that fires, by design): the
/// rows of inputs that never fired keep their normalised weights bit for
/// bit; the two that fired moved.
fn learning_changes_only_the_weights_of_the_inputs_that_fired<T: Real>() {
    let l = EventLayout::new(3, 2, Polarity::Pairs, 1).unwrap(); // 12 inputs
    let w0 = |i: usize, j: usize| {
        if i == 1 || i == 2 {
            0.35
        } else {
            0.1 + 0.03 * i as f64 + 0.01 * j as f64
        }
    };
    let target = (0..12).map(|i| w0(i, 0)).sum::<f64>() as f32;
    // Pixel (0, 0) ON and pixel (1, 0) OFF together every ms: v += 0.7,
    // a spike in the next step; plus an event outside the sensor.
    let mut events: Vec<Event> = (0..8u64)
        .flat_map(|k| [Event::new(k * 1000, 0, 0, true), Event::new(k * 1000, 1, 0, false)])
        .collect();
    events.push(Event::new(4200, 3, 0, true));
    for rule in [Rule::Pair, Rule::Triplet, Rule::PowerLaw, Rule::ExpWeight] {
        let p = lif(12, 2, rule);
        let mut reference = Rig::<T>::new(&p, w0);
        let net = reference.net;
        let mut s = reference.state();
        net.normalize(&mut s, target as f64).unwrap();
        let normalised = reference.weights();
        let mut rig = Rig::<T>::new(&p, w0);
        let (o, counts) = rig
            .present(&events, &EventInput::new(l), &procedure(10.0, 0.0, 0, target), true)
            .unwrap();
        assert!(counts.iter().all(|&c| c >= 4), "{rule:?}: counts {counts:?}");
        assert_eq!(o.events.outside_sensor, 1);
        let after = rig.weights();
        for i in 0..12 {
            let (a, b) = (&after[i * 2..i * 2 + 2], &normalised[i * 2..i * 2 + 2]);
            if i == 1 || i == 2 {
                assert!(
                    a[0] != b[0] && a[1] != b[1],
                    "{rule:?}: input {i} fired but kept its weights"
                );
            } else {
                assert_eq!(a, b, "{rule:?}: input {i} never fired but its weights moved");
            }
        }
    }
}

/// A Diehl & Cook network on a 4 x 3 sensor (24 inputs, 3 neurons) with
/// random weights, learning, a random recording with repeats and drops.
fn dc_case<T: Real>(seed: u64, inhibition: Option<Inhibition>, rule: Rule) -> (Rig<T>, EventLayout, Vec<Event>) {
    let l = EventLayout::new(4, 3, Polarity::Pairs, 1).unwrap();
    let mut p = dc(24, 3);
    p.stdp.rule = rule;
    if matches!(rule, Rule::PowerLaw | Rule::ExpWeight) {
        p.stdp.nu_post = 0.01;
        p.stdp.x_tar = 0.2;
        p.stdp.beta = 1.0;
        p.stdp.mu = 0.5;
    }
    if let Some(i) = inhibition {
        p.inhibition = i;
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let w: Vec<f64> = (0..24 * 3).map(|_| rng.gen_range(0.1..0.6)).collect();
    let rig = Rig::new(&p, |i, j| w[i * 3 + j]);
    (rig, l, recording(seed, 600, 4, 3, 80_000))
}

fn the_same_recording_gives_bit_identical_results<T: Real>() {
    let p = procedure(100.0, 50.0, 30, 6.0);
    let mut outs = Vec::new();
    for _ in 0..2 {
        let (mut rig, l, events) = dc_case::<T>(5, None, Rule::Triplet);
        let input = EventInput {
            retry: Retry::Gain { max: 3 },
            ..EventInput::new(l)
        };
        let mut o = Vec::new();
        for _ in 0..3 {
            o.push(rig.present(&events, &input, &p, true).unwrap());
        }
        let s = rig.state();
        outs.push((o, snapshot(&s)));
    }
    assert!(outs[0].0.iter().any(|(o, _)| o.present.exc_spikes > 0));
    assert_eq!(outs[0], outs[1]);
}

fn the_collective_version_alone_equals_the_plain_one<T: Real>() {
    let p = procedure(100.0, 50.0, 30, 6.0);
    let input = |l| EventInput {
        retry: Retry::Threshold {
            step_mv: 0.5,
            max_steps: 2,
        },
        ..EventInput::new(l)
    };
    let (mut a, l, events) = dc_case::<T>(6, None, Rule::Triplet);
    let plain = a.present(&events, &input(l), &p, true).unwrap();
    let (mut b, _, _) = dc_case::<T>(6, None, Rule::Triplet);
    let mut counts = vec![0u32; 3];
    let mut spikes = [0u16; 256];
    let mut s = b.store.state(&b.net).unwrap();
    let o = present_events_shard(
        &mut b.net,
        &mut s,
        None,
        &mut SliceSource::new(&events),
        &input(l),
        &p,
        true,
        false,
        &mut spikes,
        &mut counts,
        &mut Alone,
    )
    .unwrap();
    assert_eq!((o, counts), plain);
    assert_eq!(snapshot(&s), snapshot(&a.state()));
}

/// The shards' exchange over threads: each `all_sum` waits for every shard.
struct Threads {
    barrier: Arc<Barrier>,
    slots: Arc<Mutex<Vec<u32>>>,
    me: usize,
}

impl Collective for Threads {
    fn all_sum(&mut self, x: u32) -> u32 {
        self.slots.lock().unwrap()[self.me] = x;
        self.barrier.wait();
        let sum = self.slots.lock().unwrap().iter().sum();
        self.barrier.wait();
        sum
    }
}

/// Two shards on two threads, each with its own source of the recording,
/// give the one network's counts, weights and output (both inhibition modes).
fn a_network_split_in_shards_equals_one_network<T: Real>() {
    let layer = Inhibition::Layer {
        inh: NeuronParams::diehl_cook_inhibitory(),
        w_exc_inh: 10.4,
        w_inh_exc: 17.0,
    };
    for inhibition in [Inhibition::Direct { w: 5.0 }, layer] {
        let p = procedure(100.0, 50.0, 40, 6.0);
        let (mut whole, l, events) = dc_case::<T>(8, Some(inhibition), Rule::Triplet);
        let input = EventInput {
            retry: Retry::Gain { max: 3 },
            ..EventInput::new(l)
        };
        let (o, counts) = whole.present(&events, &input, &p, true).unwrap();
        let full_w: Vec<f64> = whole.state().weights.iter().map(|x| x.to_f64()).collect();
        // The same initial weights, split by neuron.
        let (start, _, _) = dc_case::<T>(8, Some(inhibition), Rule::Triplet);
        let mut start = start;
        let w0: Vec<f64> = start.state().weights.iter().map(|x| x.to_f64()).collect();
        let n = 3;
        let barrier = Arc::new(Barrier::new(2));
        let slots = Arc::new(Mutex::new(vec![0; 2]));
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|k| {
                    let r = shard_range(n, 2, k);
                    let (events, w0, input) = (&events, &w0, &input);
                    let mut c = Threads {
                        barrier: barrier.clone(),
                        slots: slots.clone(),
                        me: k,
                    };
                    let mut params = dc(24, r.len());
                    params.stdp.rule = Rule::Triplet;
                    params.inhibition = inhibition;
                    scope.spawn(move || {
                        let mut rig = Rig::<T>::new(&params, |i, j| w0[i * n + r.start + j]);
                        let mut counts = vec![0u32; r.len()];
                        let mut spikes = [0u16; 256];
                        let mut s = rig.store.state(&rig.net).unwrap();
                        let o = present_events_shard(
                            &mut rig.net,
                            &mut s,
                            None,
                            &mut SliceSource::new(events),
                            input,
                            &p,
                            true,
                            false,
                            &mut spikes,
                            &mut counts,
                            &mut c,
                        )
                        .unwrap();
                        let w: Vec<f64> = s.weights.iter().map(|x| x.to_f64()).collect();
                        (o, counts, w, r)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(o.present.exc_spikes > 0);
        let mut joined = Vec::new();
        for (os, cs, w, r) in &results {
            assert_eq!(*os, o, "{inhibition:?}");
            joined.extend_from_slice(cs);
            for i in 0..24 {
                for (jj, j) in r.clone().enumerate() {
                    assert_eq!(w[i * r.len() + jj], full_w[i * n + j], "{inhibition:?}: w[{i}][{j}]");
                }
            }
        }
        assert_eq!(joined, counts, "{inhibition:?}");
    }
}

/// The reference: the recording binned by this file's own arithmetic
/// (step = (t - t0) / 500 µs, t0 the first event's time), the network
/// stepped by hand as `present_events` documents it.
fn by_hand<T: Real>(
    rig: &mut Rig<T>,
    l: EventLayout,
    events: &[Event],
    p: &Procedure,
    learn: bool,
) -> (u32, Vec<u32>, Vec<u64>) {
    let steps = (p.present_ms as f64 / DT).round() as usize;
    let rest = (p.rest_ms as f64 / DT).round() as u32;
    let t0 = events[0].t;
    let mut lists = vec![Vec::new(); steps];
    for e in events {
        let k = ((e.t - t0) / DT_US) as usize;
        if let (Some(i), true) = (l.input(e), k < steps) {
            lists[k].push(i);
        }
    }
    let mut net = rig.net;
    net.set_learning(learn);
    let mut s = rig.state();
    if rest == 0 {
        net.reset_dynamics(&mut s).unwrap();
    }
    if learn {
        net.normalize(&mut s, p.norm_target as f64).unwrap();
    }
    let mut counts = vec![0u32; net.n_neurons()];
    let mut total = 0;
    for list in &lists {
        total += net.step(&mut s, list).unwrap().exc_spikes;
        for (c, &f) in counts.iter_mut().zip(s.exc.spiked.iter()) {
            *c += f as u32;
        }
    }
    net.rest(&mut s, rest).unwrap();
    (total, counts, snapshot(&s))
}

/// Both rule families, both inhibition modes, with and without input
/// delays: `present_events` is the network stepped with the binned events,
/// bit for bit (so delays, rules and inhibition work as for images: they
/// live in `Network::step`).
fn present_events_equals_the_network_stepped_by_hand<T: Real>() {
    let layer = Inhibition::Layer {
        inh: NeuronParams::diehl_cook_inhibitory(),
        w_exc_inh: 10.4,
        w_inh_exc: 17.0,
    };
    let p = procedure(90.0, 40.0, 0, 6.0);
    let mut spiking = 0;
    for inhibition in [Inhibition::Direct { w: 5.0 }, layer] {
        for rule in [Rule::Triplet, Rule::Pair, Rule::PowerLaw, Rule::ExpWeight] {
            for delayed in [false, true] {
                let what = format!("{inhibition:?}, {rule:?}, delays {delayed}");
                let with_delays = |rig: Rig<T>| {
                    if delayed {
                        rig.with_delays(|i, j| ((i * 7 + j * 3) % 32) as u8)
                    } else {
                        rig
                    }
                };
                let (rig, l, events) = dc_case::<T>(11, Some(inhibition), rule);
                let mut rig = with_delays(rig);
                let (o, counts) = rig.present(&events, &EventInput::new(l), &p, true).unwrap();
                let (rig2, _, _) = dc_case::<T>(11, Some(inhibition), rule);
                let mut reference = with_delays(rig2);
                let (total, want_counts, want) = by_hand(&mut reference, l, &events, &p, true);
                assert_eq!(o.present.exc_spikes, total, "{what}");
                assert_eq!(counts, want_counts, "{what}");
                assert_eq!(snapshot(&rig.state()), want, "{what}");
                assert_eq!(o.events.merged > 0, delayed, "{what}: {:?}", o.events);
                spiking += (total > 0) as u32;
            }
        }
    }
    assert!(
        spiking >= 12,
        "only {spiking} of 16 cases spiked: the comparison would be vacuous"
    );
}

/// A spike of input i reaches neuron j delays[i][j] steps after its event.
fn input_delays_deliver_an_event_its_delay_later<T: Real>() {
    let (rig, l) = conductance_rig::<T>();
    // Input 2 (pixel (1, 0) OFF) reaches neuron 0 after 3 steps, neuron 1 at once.
    let mut rig = rig.with_delays(|i, j| if i == 2 && j == 0 { 3 } else { 0 });
    let input = EventInput::new(l);
    let w = |j: usize| T::from_f64(3.0 / 16.0 + j as f64 / 4.0).to_f64();
    // The event in step 2 of windows of 3 and of 6 steps.
    let events = [Event::new(0, 3, 0, true), Event::new(2 * DT_US, 1, 0, false)];
    let w7 = |j: usize| T::from_f64(0.5 + j as f64 / 4.0).to_f64();
    rig.present(&events, &input, &procedure(1.5, 0.0, 0, 1.0), false)
        .unwrap();
    let ge = rig.ge();
    assert!(ge[0] < w7(0), "neuron 0 has only input 7's decayed ge: {ge:?}");
    assert!(ge[1] > w(1), "neuron 1 got input 2 in step 2: {ge:?}");
    rig.present(&events, &input, &procedure(3.0, 0.0, 0, 1.0), false)
        .unwrap();
    let ge0 = rig.ge()[0];
    assert!(
        ge0 >= w(0) && ge0 < w(0) + 0.05,
        "arrived in step 5, the last: ge {ge0}"
    );
}

/// With delays, a second event of an input in a step adds nothing (the
/// window holds one bit per step) and is counted as merged.
fn coincident_events_with_input_delays_merge_into_one_spike<T: Real>() {
    let (rig, l) = conductance_rig::<T>();
    let mut rig = rig.with_delays(|_, _| 1);
    let input = EventInput::new(l);
    let p = procedure(1.0, 0.0, 0, 1.0);
    let one = [Event::new(0, 1, 0, false)];
    rig.present(&one, &input, &p, false).unwrap();
    let ge_one = rig.ge();
    let two = [Event::new(0, 1, 0, false), Event::new(10, 1, 0, false)];
    let (o, _) = rig.present(&two, &input, &p, false).unwrap();
    assert_eq!((o.events.delivered, o.events.merged, o.present.input_spikes), (2, 1, 1));
    assert_eq!(rig.ge(), ge_one);
    // A gain above 1 would merge entirely: refused.
    let gain = EventInput {
        retry: Retry::Gain { max: 2 },
        ..input
    };
    assert_eq!(
        rig.present(&two, &gain, &p, false).unwrap_err(),
        Error::InvalidParameter("retry gain (input delays merge the copies)")
    );
}

/// The LIF test network with one input of weight 0.2, 0.5 mV below the
/// threshold: one event makes v = -64.8 mV, no spike; three copies make
/// -64.4 mV, a spike in the next step.
fn weak_rig<T: Real>() -> (Rig<T>, EventLayout, [Event; 1]) {
    let l = EventLayout::new(1, 1, Polarity::Merged, 1).unwrap();
    (
        Rig::new(&lif(1, 1, Rule::None), |_, _| 0.2),
        l,
        [Event::new(50, 0, 0, true)],
    )
}

fn gain_retry_replays_with_more_copies_until_enough_spikes<T: Real>() {
    let (mut rig, l, events) = weak_rig::<T>();
    let input = EventInput {
        retry: Retry::Gain { max: 5 },
        ..EventInput::new(l)
    };
    let (o, counts) = rig
        .present(&events, &input, &procedure(5.0, 0.0, 1, 1.0), false)
        .unwrap();
    // Gains 1 and 2 give v = -64.8 and -64.6 mV: no spike; gain 3 spikes.
    assert_eq!(o.present.retries, 2);
    assert_eq!(o.present.input_spikes, 1 + 2 + 3);
    assert_eq!((o.present.exc_spikes, counts[0]), (1, 1));
    assert_eq!(o.present.steps, 3 * 10);
    assert_eq!(o.events.delivered, 1);
    // Capped: at most gain 2, two replays fewer.
    let capped = EventInput {
        retry: Retry::Gain { max: 2 },
        ..input
    };
    let (o, _) = rig
        .present(&events, &capped, &procedure(5.0, 0.0, 1, 1.0), false)
        .unwrap();
    assert_eq!((o.present.retries, o.present.exc_spikes), (1, 0));
}

fn threshold_retry_lowers_the_threshold_and_restores_theta<T: Real>() {
    let (mut rig, l, events) = weak_rig::<T>();
    let theta_before = rig.state().exc.theta[0];
    let input = EventInput {
        retry: Retry::Threshold {
            step_mv: 0.2,
            max_steps: 4,
        },
        ..EventInput::new(l)
    };
    let (o, _) = rig
        .present(&events, &input, &procedure(5.0, 0.0, 1, 1.0), false)
        .unwrap();
    // v peaks at -65 + 0.2 exp(-dt/tau_m) = -64.805 mV at the threshold test:
    // lowered by 0.2 mV (-64.7) no spike, by 0.4 mV (-64.9) a spike.
    assert_eq!((o.present.retries, o.present.exc_spikes), (2, 1));
    assert_eq!(o.present.input_spikes, 3);
    assert_eq!(rig.state().exc.theta[0], theta_before);
    // Refused: a step that is not positive, or a lowering beyond the range.
    for (step_mv, max_steps) in [(0.0, 1), (f32::NAN, 1), (-1.0, 1)] {
        let bad = EventInput {
            retry: Retry::Threshold { step_mv, max_steps },
            ..input
        };
        assert!(rig.present(&events, &bad, &procedure(5.0, 0.0, 1, 1.0), false).is_err());
    }
    if T::NAME == Fx::NAME {
        let bad = EventInput {
            retry: Retry::Threshold {
                step_mv: 10.0,
                max_steps: 250,
            },
            ..input
        };
        assert_eq!(
            rig.present(&events, &bad, &procedure(5.0, 0.0, 1, 1.0), false)
                .unwrap_err(),
            Error::NotRepresentable("retry threshold step_mv")
        );
    }
}

fn no_retry_shows_the_recording_once<T: Real>() {
    let (mut rig, l, events) = weak_rig::<T>();
    let (o, _) = rig
        .present(&events, &EventInput::new(l), &procedure(5.0, 0.0, 1, 1.0), false)
        .unwrap();
    assert_eq!(
        (o.present.retries, o.present.exc_spikes, o.present.input_spikes),
        (0, 0, 1)
    );
}

/// A live source: its events once, no replay.
struct Live<'a>(SliceSource<'a>);

impl EventSource for Live<'_> {
    fn next_event(&mut self) -> Option<Event> {
        self.0.next_event()
    }
    fn rewind(&mut self) -> bool {
        false
    }
}

fn a_source_that_cannot_rewind_ends_the_retries<T: Real>() {
    let (mut rig, l, events) = weak_rig::<T>();
    let input = EventInput {
        retry: Retry::Gain { max: 5 },
        ..EventInput::new(l)
    };
    let mut s = rig.store.state(&rig.net).unwrap();
    let (mut counts, mut spikes) = ([0u32; 1], [0u16; 8]);
    let o = present_events(
        &mut rig.net,
        &mut s,
        None,
        &mut Live(SliceSource::new(&events)),
        &input,
        &procedure(5.0, 0.0, 1, 1.0),
        false,
        false,
        &mut spikes,
        &mut counts,
    )
    .unwrap();
    assert_eq!(
        (o.present.retries, o.present.exc_spikes, o.present.input_spikes),
        (0, 0, 1)
    );
}

/// The window's steps, then the rest: the step counter moves by both, and
/// with a rest (and not `independent`) the next presentation starts from
/// where the rest left the dynamics.
fn the_rest_follows_the_window<T: Real>() {
    let (mut rig, l) = conductance_rig::<T>();
    let events = [Event::new(0, 3, 0, true)];
    let (o, _) = rig
        .present(&events, &EventInput::new(l), &procedure(2.0, 3.0, 0, 1.0), false)
        .unwrap();
    assert_eq!(o.present.steps, 4 + 6);
    assert_eq!(*rig.state().step, 10);
    // After the rest ge has decayed (tau_ge = 1 ms, 6 steps) but is not reset.
    let ge = rig.ge();
    assert!(ge.iter().all(|&g| g > 0.0 && g < 0.1), "{ge:?}");
}

/// Inference from 8-bit weights in flash gives the counts of a network
/// whose own weights are those values.
fn read_only_weights_give_the_counts_of_the_same_weights<T: Real>() {
    let (mut rig, l, events) = dc_case::<T>(13, None, Rule::None);
    let q: Vec<u8> = rig
        .state()
        .weights
        .iter()
        .map(|w| QuantizedWeights::<T>::quantize(w.to_f64(), 1.0))
        .collect();
    for (w, &b) in rig.state().weights.iter_mut().zip(&q) {
        *w = QuantizedWeights::<T>::value(b, 1.0);
    }
    let p = procedure(100.0, 50.0, 0, 6.0);
    let (o, counts) = rig.present(&events, &EventInput::new(l), &p, false).unwrap();
    assert!(o.present.exc_spikes > 0);
    let (mut frozen, _, _) = dc_case::<T>(13, None, Rule::None);
    let w = QuantizedWeights::<T>::new(&q, 1.0).unwrap();
    let mut s = frozen.store.state(&frozen.net).unwrap();
    let (mut c2, mut spikes) = (vec![0u32; 3], [0u16; 256]);
    let o2 = present_events(
        &mut frozen.net,
        &mut s,
        Some(&w),
        &mut SliceSource::new(&events),
        &EventInput::new(l),
        &p,
        false,
        false,
        &mut spikes,
        &mut c2,
    )
    .unwrap();
    assert_eq!((o2, c2.clone()), (o, counts));
    // Learning with read-only weights is refused.
    assert_eq!(
        present_events(
            &mut frozen.net,
            &mut s,
            Some(&w),
            &mut SliceSource::new(&events),
            &EventInput::new(l),
            &p,
            true,
            false,
            &mut spikes,
            &mut c2,
        )
        .unwrap_err(),
        Error::InvalidParameter("learning (read-only weights)")
    );
}

#[test]
fn a_layout_that_does_not_match_the_network_is_refused() {
    let (mut rig, _) = conductance_rig::<f64>();
    let events = [Event::new(0, 0, 0, true)];
    let merged = EventLayout::new(4, 1, Polarity::Merged, 1).unwrap();
    assert_eq!(
        rig.present(&events, &EventInput::new(merged), &procedure(2.0, 0.0, 0, 1.0), false)
            .unwrap_err(),
        Error::InvalidParameter("event layout (inputs differ from n_inputs)")
    );
    // A window shorter than a step, a negative rest.
    let l = EventLayout::new(4, 1, Polarity::Pairs, 1).unwrap();
    for p in [procedure(0.2, 0.0, 0, 1.0), procedure(2.0, -1.0, 0, 1.0)] {
        assert!(rig.present(&events, &EventInput::new(l), &p, false).is_err());
    }
}
