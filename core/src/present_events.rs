//! Presenting one event-camera recording (or a window of one) to the
//! network, on any backend: the events of a sensor become input spikes at
//! their own times, then the network rests, as for images
//! ([`crate::present`]). The host's training and evaluation and the chip
//! run this same code, so the same recording gives the same spikes on both.
//!
//! # The input layer ([`EventLayout`])
//! One input per pixel and polarity. With [`Polarity::Pairs`] (N-MNIST:
//! 34 x 34 pixels, 2,312 inputs) the two inputs of a pixel are adjacent,
//! OFF first:
//!
//! ```text
//! input = (row * columns + column) * 2 + p      p = 0 OFF, 1 ON (tonic's `p`)
//! ```
//!
//! row-major from the top-left pixel, `y` growing downward. A neuron's
//! weights are then an image with two channels per pixel, "channels last"
//! like an RGB image (NumPy `w.reshape(rows, columns, 2)`): the ON/OFF pair
//! of a receptive field's pixel is two adjacent weights, which is how it is
//! drawn (one two-colour cell per pixel), and the merged and downsampled
//! layouts are the same formula with one channel or a coarser grid. Planes
//! (`p * columns * rows + pixel`, tonic's `ToFrame` order) would be one
//! reshape away; pairs keep the formula one line for every option.
//! [`Polarity::Merged`] has one input per pixel (`input = row * columns +
//! column`), an event of either polarity spiking it. A `downsample` factor
//! `f` >= 1 maps the block of `f x f` pixels with top-left corner
//! (`f c`, `f r`) to cell (`c`, `r`): `column = x / f`, `row = y / f`
//! (integer division, as `stdp-events`' `Downsample::by`), on a grid of
//! `ceil(width / f) x ceil(height / f)` cells. An event at `x >= width` or
//! `y >= height` (outside the sensor) has no input: it is dropped and
//! counted ([`EventStats::outside_sensor`]).
//!
//! # Binning ([`EventBins`])
//! Event times are integer microseconds; the time step `dt` (ms) must be a
//! whole number of nanoseconds (0.5 ms, 0.1 ms, 1 ms, ...). With `t0` the
//! window's start ([`Start`]: the first event's time, or a given time),
//! step `k` of the presentation covers `[t0 + k dt, t0 + (k + 1) dt)`: an
//! event at `t` is an input spike in step `floor((t - t0) / dt)`, computed
//! exactly in integers (`(t - t0) * 1000 ns < (k + 1) * dt_ns`). Within a
//! step the spikes are applied in the order the events arrived. Several
//! events of one input in one step are several spikes: [`Network::step`]
//! applies its `inputs` one by one, so a repeated index adds its weight to
//! `ge` once per occurrence (and, learning, depresses and bumps its trace
//! once per occurrence, as separate spikes would).
//!
//! Exception: with input delays ([`State::delays`]) an input carries at
//! most one spike per step (its 32-step window, [`State::pre_hist`], holds
//! one bit per step), so coincident events of one input merge into one
//! spike; they are counted in [`EventStats::merged`], and a
//! [`Retry::Gain`] above 1, whose copies would all merge, is refused.
//!
//! The presentation lasts `present_ms` (the [`Procedure`]'s, rounded to
//! whole steps as for images) from `t0`; events before `t0` or at or after
//! `t0 + present_ms` are dropped and counted
//! ([`EventStats::outside_window`]); the source is read to its end. An
//! event earlier than the step being filled (out of time order, e.g. a
//! sensor's jitter, when the reader did not clamp times) is delivered in
//! the current step and counted ([`EventStats::late`]). The step's spike
//! list is a caller-owned buffer; events that do not fit in it are dropped
//! and counted ([`EventStats::overflow`]), as a sensor drops events under
//! load. Size it for the busiest step times the largest gain: N-MNIST's
//! busiest 10 ms average 15-26 events per 0.5 ms step (30,000-52,500
//! events/s), so 256 entries leave a wide margin at gain 1.
//!
//! # The presentation ([`present_events`])
//! As for images: with `learn`, weights are normalised to `norm_target`
//! first and STDP and theta adaptation are on; with `independent` (or a
//! rest of 0) the dynamics are reset before each pass; then the window's
//! steps, then `rest_ms` without input ([`Network::rest`]). `counts[j]`
//! receives neuron j's spikes in the final pass. The [`Procedure`]'s
//! `intensity` and `max_intensity` (Poisson rates) do not apply to events.
//!
//! # Too few spikes ([`Retry`])
//! When the excitatory layer fired fewer than `min_spikes` times, the
//! images' answer is a higher Poisson rate. A recording has no rate; the
//! options, chosen by a parameter:
//! - [`Retry::None`]: the recording is shown once, whatever it evoked.
//! - [`Retry::Gain`]: replay with every event delivered `g` times in its
//!   step (g = 2, 3, ... up to `max`): the input's drive times g, its
//!   timing unchanged.
//! - [`Retry::Threshold`]: replay with every excitatory neuron's firing
//!   threshold lowered by `r * step_mv` (r = 1, 2, ... up to `max_steps`)
//!   for the window (applied to theta and restored before the rest).
//!
//! A replay needs a source that can start again ([`EventSource::rewind`]);
//! one that cannot (a live sensor) ends the retries. Which option works
//! best is measured on the host, not decided here. Each replay is a whole
//! pass (normalisation, window, rest), as an image's retry is, and is
//! counted in [`PresentOutput::retries`]. The threshold option subtracts
//! `r * step_mv` (converted once to the backend: Q11.20, step 2^-20 mV, in
//! fixed point) from every excitatory theta before the window and adds the
//! same value back after it; learning, theta decays during the window from
//! the lowered value, so it ends `lowering * (1 - exp(-window / tau_theta))`
//! above where it would have been (3.5e-5 of the lowering for 350 ms at
//! Diehl & Cook's tau_theta = 1e7 ms); with learning off it comes back bit
//! for bit in fixed point.
//!
//! # Example
//! Diehl & Cook's network on N-MNIST's layout in fixed point, learning
//! from a (synthetic) recording, replayed with a gain when it evokes fewer
//! than 5 spikes:
//!
//! ```
//! use stdp_core::image::Procedure;
//! use stdp_core::present_events::{present_events, EventInput, EventLayout, Retry, SliceSource};
//! use stdp_core::{Event, Fx, Network, NetworkBuffers, NetworkParams, Real};
//!
//! let layout = EventLayout::NMNIST; // 34 x 34 pixels x ON/OFF: 2,312 inputs
//! let mut net = Network::<Fx>::new(&NetworkParams::diehl_cook(layout.inputs(), 4))?;
//! let mut bufs = Box::new(NetworkBuffers::<Fx, 2312, 4>::new());
//! let mut s = bufs.state(&net)?;
//! net.init_state(&mut s)?;
//! s.weights.fill(Fx::from_f64(0.1));
//! // 2,000 events over 300 ms (t in µs).
//! let events: Vec<Event> = (0..2000u64)
//!     .map(|k| Event::new(k * 150, (k % 34) as u16, (k / 60 % 34) as u16, k % 2 == 0))
//!     .collect();
//! let input = EventInput { retry: Retry::Gain { max: 3 }, ..EventInput::new(layout) };
//! let p = Procedure {
//!     intensity: 1.0, // not used by events
//!     max_intensity: 1.0,
//!     present_ms: 350.0,
//!     rest_ms: 150.0,
//!     min_spikes: 5,
//!     norm_target: 78.0,
//! };
//! let (mut spikes, mut counts) = ([0u16; 512], [0u32; 4]);
//! let mut src = SliceSource::new(&events);
//! let out = present_events(&mut net, &mut s, None, &mut src, &input, &p, true, false, &mut spikes, &mut counts)?;
//! assert_eq!(out.events.delivered, 2000);
//! // Passes at gains 1, 2, ...: 2,000 spikes, then 4,000, ...
//! let r = out.present.retries;
//! assert_eq!(out.present.input_spikes, 2000 * (r + 1) * (r + 2) / 2);
//! # Ok::<(), stdp_core::Error>(())
//! ```
//!
//! # Sources ([`EventSource`])
//! Events come one at a time, in time order, from an [`EventSource`]: a
//! slice on the host ([`SliceSource`]), any cloneable iterator
//! ([`IterSource`]), or on the chip a queue filled by the UART interrupt,
//! whose `next_event` waits for the next event and answers `None` at the
//! end of the recording. Nothing here allocates.
//!
//! [`State::delays`]: crate::State::delays
//! [`State::pre_hist`]: crate::State::pre_hist
//! [`Network::step`]: crate::Network::step
//! [`Network::rest`]: crate::Network::rest

use crate::network::{Network, QuantizedWeights, State};
use crate::present::PresentOutput;
use crate::procedure::{Procedure, MAX_PHASE_MS, MAX_PHASE_STEPS};
use crate::shard::{Alone, Collective};
use crate::{Error, Event, Real, MAX_INPUTS};

/// How the two polarities of a pixel map to inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Polarity {
    /// Two inputs per pixel, adjacent, OFF first: `pixel * 2 + p`.
    #[default]
    Pairs,
    /// One input per pixel for both polarities: `pixel`.
    Merged,
}

/// The map from a sensor's events to the network's inputs (see the
/// [module docs](self)): `Copy`, checked at construction.
///
/// - `width`, `height`: the sensor in pixels, 1 to 65,535 each.
/// - `polarity`: [`Polarity::Pairs`] (2 inputs per cell) or
///   [`Polarity::Merged`] (1).
/// - `downsample`: block size `f` in pixels per side, 1 to 65,535 (1: every
///   pixel its own cell).
///
/// The inputs, `ceil(width / f) * ceil(height / f) * channels`, must number
/// at most [`MAX_INPUTS`] (65,535, what a network and a chip image take).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EventLayout {
    width: u16,
    height: u16,
    polarity: Polarity,
    downsample: u16,
}

impl EventLayout {
    /// N-MNIST: 34 x 34 pixels, both polarities as pairs, no downsampling
    /// (2,312 inputs).
    pub const NMNIST: EventLayout = EventLayout {
        width: 34,
        height: 34,
        polarity: Polarity::Pairs,
        downsample: 1,
    };

    /// A layout for a `width` x `height` sensor. Errors
    /// ([`Error::InvalidParameter`]): a zero size or factor, or more than
    /// [`MAX_INPUTS`] inputs.
    pub const fn new(width: u16, height: u16, polarity: Polarity, downsample: u16) -> Result<Self, Error> {
        if width == 0 || height == 0 {
            return Err(Error::InvalidParameter("event layout size"));
        }
        if downsample == 0 {
            return Err(Error::InvalidParameter("event layout downsample"));
        }
        let l = EventLayout {
            width,
            height,
            polarity,
            downsample,
        };
        if l.inputs() > MAX_INPUTS {
            return Err(Error::InvalidParameter("event layout inputs"));
        }
        Ok(l)
    }

    /// Sensor width (pixels).
    pub const fn width(&self) -> u16 {
        self.width
    }
    /// Sensor height (pixels).
    pub const fn height(&self) -> u16 {
        self.height
    }
    /// How the polarities map.
    pub const fn polarity(&self) -> Polarity {
        self.polarity
    }
    /// Downsampling factor (pixels per cell side).
    pub const fn downsample(&self) -> u16 {
        self.downsample
    }
    /// Inputs per cell: 2 ([`Polarity::Pairs`]) or 1 ([`Polarity::Merged`]).
    pub const fn channels(&self) -> usize {
        match self.polarity {
            Polarity::Pairs => 2,
            Polarity::Merged => 1,
        }
    }
    /// Cells per row after downsampling: `ceil(width / downsample)`.
    pub const fn columns(&self) -> usize {
        (self.width as usize).div_ceil(self.downsample as usize)
    }
    /// Rows of cells after downsampling: `ceil(height / downsample)`.
    pub const fn rows(&self) -> usize {
        (self.height as usize).div_ceil(self.downsample as usize)
    }
    /// Number of inputs: `columns * rows * channels`.
    pub const fn inputs(&self) -> usize {
        self.columns() * self.rows() * self.channels()
    }

    /// The input an event spikes, `None` for an event outside the sensor
    /// (`x >= width` or `y >= height`).
    #[inline]
    pub fn input(&self, e: &Event) -> Option<u16> {
        if e.x >= self.width || e.y >= self.height {
            return None;
        }
        let f = self.downsample as usize;
        let cell = (e.y as usize / f) * self.columns() + e.x as usize / f;
        let i = match self.polarity {
            Polarity::Pairs => cell * 2 + e.on as usize,
            Polarity::Merged => cell,
        };
        u16::try_from(i).ok()
    }

    /// Where input `i` sits: its cell's column and row (after
    /// downsampling) and its polarity (`Some(true)` ON, `Some(false)` OFF,
    /// `None` merged); `None` beyond the inputs. The inverse of
    /// [`EventLayout::input`], for drawing weights as images.
    pub fn locate(&self, i: u16) -> Option<(u16, u16, Option<bool>)> {
        let i = i as usize;
        if i >= self.inputs() {
            return None;
        }
        let (cell, p) = match self.polarity {
            Polarity::Pairs => (i / 2, Some(i % 2 == 1)),
            Polarity::Merged => (i, None),
        };
        let cols = self.columns();
        Some(((cell % cols) as u16, (cell / cols) as u16, p))
    }
}

/// Events one at a time, in time order (see the [module docs](self)).
pub trait EventSource {
    /// The next event, `None` at the end of the recording. A live source
    /// (the chip's UART queue) waits here for the next event.
    fn next_event(&mut self) -> Option<Event>;
    /// Starts the recording again from its first event, for a replay
    /// ([`Retry`]); `false` if this source cannot (a live stream).
    fn rewind(&mut self) -> bool;
}

impl<S: EventSource + ?Sized> EventSource for &mut S {
    fn next_event(&mut self) -> Option<Event> {
        (**self).next_event()
    }
    fn rewind(&mut self) -> bool {
        (**self).rewind()
    }
}

/// The events of a slice (a recording or a window of one, in memory).
#[derive(Debug, Clone)]
pub struct SliceSource<'a> {
    events: &'a [Event],
    at: usize,
}

impl<'a> SliceSource<'a> {
    /// A source over `events`, from the first.
    pub const fn new(events: &'a [Event]) -> Self {
        SliceSource { events, at: 0 }
    }
}

impl EventSource for SliceSource<'_> {
    #[inline]
    fn next_event(&mut self) -> Option<Event> {
        let e = self.events.get(self.at).copied();
        self.at += e.is_some() as usize;
        e
    }
    fn rewind(&mut self) -> bool {
        self.at = 0;
        true
    }
}

/// The events of a cloneable iterator; a rewind starts a clone of the
/// original again.
#[derive(Debug, Clone)]
pub struct IterSource<I> {
    start: I,
    now: I,
}

impl<I: Iterator<Item = Event> + Clone> IterSource<I> {
    /// A source over `events`.
    pub fn new(events: I) -> Self {
        IterSource {
            now: events.clone(),
            start: events,
        }
    }
}

impl<I: Iterator<Item = Event> + Clone> EventSource for IterSource<I> {
    fn next_event(&mut self) -> Option<Event> {
        self.now.next()
    }
    fn rewind(&mut self) -> bool {
        self.now = self.start.clone();
        true
    }
}

/// Where a presentation's window starts (`t0`, µs on the recording's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Start {
    /// At the first event's time (a whole recording).
    #[default]
    FirstEvent,
    /// At this time (µs on the recording's clock, u64): a window of a
    /// longer recording; earlier events are dropped.
    At(u64),
}

/// What to do when a pass evokes fewer than `min_spikes` excitatory spikes
/// (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Retry {
    /// Show the recording once.
    #[default]
    None,
    /// Replay with each event delivered `g` times in its step, g = 2, 3,
    /// ... up to `max` (1 to 255; 1: no replay). Refused with input delays
    /// for `max > 1`.
    Gain {
        /// Largest gain (copies per event).
        max: u8,
    },
    /// Replay with the excitatory threshold lowered by `r * step_mv` mV,
    /// r = 1, 2, ... up to `max_steps` (0: no replay).
    Threshold {
        /// Lowering per replay (mV), finite and > 0; `max_steps * step_mv`
        /// must be representable (fixed point: below 2048 mV; the lowering
        /// is applied to theta in Q11.20, step 2^-20 mV).
        step_mv: f32,
        /// Most replays.
        max_steps: u8,
    },
}

impl Retry {
    /// The number of replays this option allows at most.
    pub fn max_replays(&self) -> u32 {
        match *self {
            Retry::None => 0,
            Retry::Gain { max } => (max as u32).saturating_sub(1),
            Retry::Threshold { max_steps, .. } => max_steps as u32,
        }
    }
}

/// The input side of an event presentation: the layout, where the window
/// starts and what replaces the intensity retry.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EventInput {
    /// Events to inputs.
    pub layout: EventLayout,
    /// The window's start.
    pub start: Start,
    /// Too few spikes: what then.
    pub retry: Retry,
}

impl EventInput {
    /// A whole recording in `layout`, shown once.
    pub const fn new(layout: EventLayout) -> Self {
        EventInput {
            layout,
            start: Start::FirstEvent,
            retry: Retry::None,
        }
    }
}

/// What happened to the events of one pass. Every event read is exactly
/// one of delivered, outside the sensor, outside the window or overflow.
/// All are event counts, `u32`, saturating at 2^32 - 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EventStats {
    /// Events read from the source.
    pub read: u32,
    /// Events delivered as input spikes (each as `gain` spikes).
    pub delivered: u32,
    /// Dropped: outside the sensor (`x >= width` or `y >= height`).
    pub outside_sensor: u32,
    /// Dropped: before `t0` or at or after the window's end.
    pub outside_window: u32,
    /// Dropped: the step's spike buffer was full.
    pub overflow: u32,
    /// Of the delivered: earlier than their step (out of time order),
    /// delivered in the step being filled.
    pub late: u32,
    /// Of the delivered, with input delays only: a second or later event
    /// of one input in one step, merged into that input's one spike.
    pub merged: u32,
}

/// Streams a source's events into per-step input spike lists (see the
/// [module docs](self), "Binning"): what [`present_events`] steps the
/// network with, usable alone (the chip's own loop, tests).
#[derive(Debug, Clone)]
pub struct EventBins {
    layout: EventLayout,
    /// dt (ns).
    dt_ns: u64,
    steps: u32,
    start: Start,
    gain: u8,
    one_per_input: bool,
    t0: Option<u64>,
    k: u32,
    pending: Option<Event>,
    started: bool,
    stats: EventStats,
}

/// dt (ms) as a whole number of nanoseconds (within a picosecond of one:
/// 0.1 ms is 100,000.00000000001 ns in f64), 1 ns to 11.5 days.
fn dt_ns(dt_ms: f64) -> Result<u64, Error> {
    let ns = dt_ms * 1e6;
    let whole = libm::round(ns);
    if !((1.0..1e15).contains(&whole) && libm::fabs(ns - whole) <= 1e-3) {
        return Err(Error::InvalidParameter("dt_ms (events need a whole number of ns)"));
    }
    Ok(whole as u64)
}

impl EventBins {
    /// Bins for a window of `steps` steps of `dt_ms` (a whole number of
    /// nanoseconds, else [`Error::InvalidParameter`]) starting at `start`;
    /// gain 1, repeated inputs kept.
    pub fn new(layout: EventLayout, dt_ms: f64, steps: u32, start: Start) -> Result<Self, Error> {
        Ok(EventBins {
            layout,
            dt_ns: dt_ns(dt_ms)?,
            steps,
            start,
            gain: 1,
            one_per_input: false,
            t0: match start {
                Start::FirstEvent => None,
                Start::At(t) => Some(t),
            },
            k: 0,
            pending: None,
            started: false,
            stats: EventStats::default(),
        })
    }

    /// Each event delivered `gain` times (1 to 255; 0 is taken as 1).
    pub fn with_gain(mut self, gain: u8) -> Self {
        self.gain = gain.max(1);
        self
    }

    /// With `true`, an input appears at most once in a step's list (what a
    /// network with input delays does anyway); the others are counted in
    /// [`EventStats::merged`]. Costs a scan of the step's list per event.
    pub fn one_per_input(mut self, on: bool) -> Self {
        self.one_per_input = on;
        self
    }

    /// The window's start (µs): the given one, or the first event's time
    /// once it has been read.
    pub fn t0(&self) -> Option<u64> {
        self.t0
    }

    /// The step the next [`EventBins::next_step`] fills.
    pub fn step(&self) -> u32 {
        self.k
    }

    /// What happened to the events so far.
    pub fn stats(&self) -> EventStats {
        self.stats
    }

    fn fetch<S: EventSource + ?Sized>(&mut self, src: &mut S) -> Option<Event> {
        if let Some(e) = self.pending.take() {
            return Some(e);
        }
        let e = src.next_event()?;
        self.stats.read = self.stats.read.saturating_add(1);
        if !self.started {
            self.started = true;
            if self.start == Start::FirstEvent {
                self.t0 = Some(e.t);
            }
        }
        Some(e)
    }

    /// Fills `out` with the input spikes of the next step and returns how
    /// many; `None` once the window's steps are done. Reads the source up
    /// to the first event of a later step, which it keeps for then.
    pub fn next_step<S: EventSource + ?Sized>(&mut self, src: &mut S, out: &mut [u16]) -> Option<usize> {
        if self.k >= self.steps {
            return None;
        }
        let k = self.k as u64;
        let (begin, end) = (k.saturating_mul(self.dt_ns), (k + 1).saturating_mul(self.dt_ns));
        let g = self.gain as usize;
        let mut m = 0;
        while let Some(e) = self.fetch(src) {
            let t0 = self.t0.unwrap_or(e.t);
            let Some(rel_us) = e.t.checked_sub(t0) else {
                self.stats.outside_window = self.stats.outside_window.saturating_add(1);
                continue;
            };
            let rel_ns = rel_us.saturating_mul(1000);
            if rel_ns >= end {
                self.pending = Some(e);
                break;
            }
            let late = rel_ns < begin;
            let Some(i) = self.layout.input(&e) else {
                self.stats.outside_sensor = self.stats.outside_sensor.saturating_add(1);
                continue;
            };
            let filled = out.get(..m).unwrap_or(&[]);
            if self.one_per_input && filled.contains(&i) {
                self.stats.merged = self.stats.merged.saturating_add(1);
            } else if let Some(slots) = out.get_mut(m..m + g) {
                slots.fill(i);
                m += g;
            } else {
                self.stats.overflow = self.stats.overflow.saturating_add(1);
                continue;
            }
            self.stats.delivered = self.stats.delivered.saturating_add(1);
            self.stats.late = self.stats.late.saturating_add(late as u32);
        }
        self.k += 1;
        Some(m)
    }

    /// Reads the rest of the source (the events at or after the window's
    /// end, and any kept for a later step), counting them as outside the
    /// window; ends the window.
    pub fn finish<S: EventSource + ?Sized>(&mut self, src: &mut S) {
        self.k = self.steps;
        while self.fetch(src).is_some() {
            self.stats.outside_window = self.stats.outside_window.saturating_add(1);
        }
    }
}

/// What an event presentation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EventsOutput {
    /// As for images: excitatory spikes of the final pass, replays
    /// (`retries`), input spikes delivered and steps simulated over all
    /// passes.
    pub present: PresentOutput,
    /// The events of the final pass.
    pub events: EventStats,
}

/// Presents one recording, `src`, to `net` (see the [module docs](self)).
///
/// `input`: the layout (its [`EventLayout::inputs`] must be the network's
/// input count), the window's start and the retry option. `p`: the window
/// length `present_ms`, `rest_ms`, `min_spikes` and `norm_target`, with the
/// bounds of `Procedure::check` (its `intensity` fields are not used). With `learn`, weights are normalised
/// to `p.norm_target` first and STDP and theta adaptation are on; with
/// `independent` (or a rest of 0) the dynamics are reset before each pass.
/// `weights`: read-only 8-bit weights instead of `s.weights` (no
/// learning). `spikes`: the buffer for one step's input spikes (its length
/// is the most a step takes; the rest are dropped and counted). `counts[j]`
/// receives neuron j's spikes in the final pass.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(feature = "inline-hot", inline(always))]
pub fn present_events<T: Real, S: EventSource + ?Sized>(
    net: &mut Network<T>,
    s: &mut State<'_, T>,
    weights: Option<&QuantizedWeights<'_, T>>,
    src: &mut S,
    input: &EventInput,
    p: &Procedure,
    learn: bool,
    independent: bool,
    spikes: &mut [u16],
    counts: &mut [u32],
) -> Result<EventsOutput, Error> {
    present_events_shard(
        net,
        s,
        weights,
        src,
        input,
        p,
        learn,
        independent,
        spikes,
        counts,
        &mut Alone,
    )
}

/// [`present_events`] for one shard of a network split across threads
/// ([`crate::shard`]): `net` and `s` are the shard's neurons, `src` a
/// source of the same recording as every other shard's (each shard reads
/// its own), `c` the exchange with the other shards. `counts` are the
/// shard's neurons'; the returned `exc_spikes` is the whole network's.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(feature = "inline-hot", inline(always))]
pub fn present_events_shard<T: Real, S: EventSource + ?Sized, C: Collective + ?Sized>(
    net: &mut Network<T>,
    s: &mut State<'_, T>,
    weights: Option<&QuantizedWeights<'_, T>>,
    src: &mut S,
    input: &EventInput,
    p: &Procedure,
    learn: bool,
    independent: bool,
    spikes: &mut [u16],
    counts: &mut [u32],
    c: &mut C,
) -> Result<EventsOutput, Error> {
    let n = net.n_neurons();
    if input.layout.inputs() != net.n_inputs() {
        return Err(Error::InvalidParameter("event layout (inputs differ from n_inputs)"));
    }
    if counts.len() != n {
        return Err(Error::BufferSize("counts"));
    }
    if s.exc.theta.len() != n {
        return Err(Error::BufferSize("layer"));
    }
    if spikes.is_empty() {
        return Err(Error::BufferSize("event spikes"));
    }
    if learn && weights.is_some() {
        return Err(Error::InvalidParameter("learning (read-only weights)"));
    }
    let dt = net.dt_ms();
    let (present, rest) = (p.present_ms as f64, p.rest_ms as f64);
    // The bounds of `Procedure::check`, which also checks the intensities.
    if !(present >= dt && present <= MAX_PHASE_MS && present / dt <= MAX_PHASE_STEPS as f64) {
        return Err(Error::InvalidParameter("present_ms"));
    }
    if !((0.0..=MAX_PHASE_MS).contains(&rest) && rest / dt <= MAX_PHASE_STEPS as f64) {
        return Err(Error::InvalidParameter("rest_ms"));
    }
    let delays = !s.pre_hist.is_empty();
    // The threshold option's lowering per replay (mV), else 0.
    let step_mv = match input.retry {
        Retry::None => 0.0,
        Retry::Gain { max } => {
            if max == 0 {
                return Err(Error::InvalidParameter("retry gain"));
            }
            if delays && max > 1 {
                return Err(Error::InvalidParameter("retry gain (input delays merge the copies)"));
            }
            0.0
        }
        Retry::Threshold { step_mv, max_steps } => {
            if !(step_mv > 0.0 && step_mv.is_finite()) {
                return Err(Error::InvalidParameter("retry threshold step_mv"));
            }
            if !T::in_range(step_mv as f64 * max_steps as f64) {
                return Err(Error::NotRepresentable("retry threshold step_mv"));
            }
            step_mv as f64
        }
    };
    let present_steps = libm::round(present / dt) as u32;
    let rest_steps = libm::round(rest / dt) as u32;
    // Checks dt before anything changes.
    EventBins::new(input.layout, dt, present_steps, input.start)?;
    net.set_learning(learn);
    let mut out = EventsOutput::default();
    let mut level = 0u32;
    loop {
        if independent || rest_steps == 0 {
            net.reset_dynamics(s)?;
        }
        if learn {
            net.normalize(s, p.norm_target as f64)?;
        }
        let gain = match input.retry {
            Retry::Gain { .. } => (level + 1).min(u8::MAX as u32) as u8,
            _ => 1,
        };
        // The threshold option: theta - r step for the window.
        let lower = T::from_f64(level as f64 * step_mv);
        if lower != T::ZERO {
            for t in s.exc.theta.iter_mut() {
                *t -= lower;
            }
            *s.exc.activity = crate::Activity::All;
        }
        counts.fill(0);
        let mut bins = EventBins::new(input.layout, dt, present_steps, input.start)?
            .with_gain(gain)
            .one_per_input(delays);
        let mut total = 0u32;
        while let Some(m) = bins.next_step(src, spikes) {
            out.present.input_spikes = out.present.input_spikes.saturating_add(m as u32);
            let o = net.step_shard(s, weights, spikes.get(..m).unwrap_or(&[]), c)?;
            if o.exc_spikes > 0 {
                total += o.exc_spikes;
                for (k, &f) in counts.iter_mut().zip(s.exc.spiked.iter()) {
                    *k += f as u32;
                }
            }
        }
        bins.finish(src);
        if lower != T::ZERO {
            for t in s.exc.theta.iter_mut() {
                *t += lower;
            }
            *s.exc.activity = crate::Activity::All;
        }
        out.present.steps = out.present.steps.saturating_add(present_steps + rest_steps);
        net.rest_shard(s, weights, rest_steps, c)?;
        let total = c.all_sum(total);
        out.present.exc_spikes = total;
        out.events = bins.stats();
        if total >= p.min_spikes || level >= input.retry.max_replays() || !src.rewind() {
            break;
        }
        level += 1;
        out.present.retries += 1;
    }
    Ok(out)
}
