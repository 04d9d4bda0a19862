//! A DVS emulator that turns MNIST digits into N-MNIST-like recordings, as
//! Orchard et al. (2015) recorded N-MNIST: an ATIS moved in three saccades of
//! about 100 ms along a triangle in front of the digit shown on a monitor,
//! cropped to 34 x 34 pixels. The model is v2e's (Hu, Liu & Delbruck 2021)
//! with ESIM's interpolated crossing times (Rebecq, Gehrig & Scaramuzza 2018);
//! `docs/emulator.md` derives it and says what was calibrated against the real
//! recordings ([`calibrate`]).
//!
//! # The model, per recording
//!
//! 1. **Scene.** The 28 x 28 digit's pixel values `p` (0-255) become monitor
//!    luminance `I = (p / 255)^gamma` (relative to white) on a black canvas,
//!    or with `negative` `I = ((255 - p) / 255)^gamma` on a white one,
//!    blurred by a Gaussian of `blur_px` (the optics).
//! 2. **Motion.** The digit's top-left corner sits at `start_px` on the
//!    sensor at `t = 0` and moves by the sum of the [`Saccade`]s, each a
//!    movement `d * s(tau)`, `tau = (t - start) / duration` clipped to [0, 1],
//!    with the [`VelocityProfile`] `s`: a motor's trapezoid (constant
//!    acceleration, speed, deceleration) or minimum jerk,
//!    `s = 10 tau^3 - 15 tau^4 + 6 tau^5` (Flash & Hogan 1985).
//!    A pixel `(x, y)` sees the canvas at `(x - ox(t), y - oy(t))`,
//!    sampled bilinearly (sub-pixel motion).
//! 3. **Log intensity** (v2e eq. 1): `L = ln(I + log_eps)`.
//! 4. **Photoreceptor low-pass** (v2e sec. 3.2), first order, its cutoff
//!    rising with intensity: `f3dB(I) = cutoff_hz * (I + cutoff_floor) /
//!    (1 + cutoff_floor)`, `tau = 1 / (2 pi f3dB)`, `dLp/dt = (L - Lp) / tau`,
//!    integrated over a step `dt` by backward Euler, `Lp += a (L - Lp)` with
//!    `a = (dt / tau) / (1 + dt / tau)` (stable for any step; v2e's forward
//!    Euler is `a = min(1, dt / tau)`).
//! 5. **Change detection** (v2e eq. 2, ESIM eq. 1): a pixel keeps the level
//!    `R` of its last event; when `Lp - R >= theta_on(x, y)` it emits ON and
//!    `R += theta_on`; when `Lp - R <= -theta_off(x, y)` OFF and
//!    `R -= theta_off`; as many events as thresholds crossed, each at the time
//!    the straight line between the two steps' `Lp` crosses its level (ESIM's
//!    interpolation). The thresholds are drawn once per sensor
//!    (`sensor_seed`): `theta ~ N(threshold, threshold_sigma^2)`, at least
//!    [`MIN_THRESHOLD`] (v2e's mismatch).
//! 6. **Refractory period**: after an event the pixel is held in reset for
//!    `refractory_us`; its level follows `Lp` meanwhile, so the change during
//!    the reset is lost, as in the pixel's circuit (v2e drops those events).
//! 7. **Latency and jitter**: every event is delayed by `latency_us` plus a
//!    zero-mean triangular jitter of standard deviation `jitter_us`.
//! 8. **Noise** (v2e sec. 3.4): *leak* events, ON, from the level drifting
//!    down at `rate * theta_on` per second (`rate` per pixel log-normal
//!    around `leak_rate_hz`, spread `leak_sigma`, fixed per sensor), each
//!    pixel starting at a random phase of its leak; *shot* events, ON or OFF
//!    at random, a Poisson process of `shot_rate_hz` per pixel.
//!
//! Everything random comes from [`Xoshiro128pp`] streams derived from the
//! recording's seed (and the sensor's fixed pattern from `sensor_seed`), and
//! the arithmetic avoids the platform's libm, so a seed gives the same
//! events on every machine.

pub mod calibrate;
mod math;

use serde::{Deserialize, Serialize};
use stdp_core::rng::{stream_seed, Xoshiro128pp};

use crate::read::{Sensor, NMNIST_SENSOR};
use crate::{Error, Event};

/// The emulated sensor: N-MNIST's 34 x 34.
pub const SENSOR: Sensor = NMNIST_SENSOR;
/// Side of an MNIST digit, pixels.
pub const DIGIT: usize = 28;
/// The smallest contrast threshold a pixel's mismatch may draw, log units.
pub const MIN_THRESHOLD: f32 = 0.01;
/// The largest movement of the digit over a recording, per axis, pixels.
pub const MAX_TRAVEL_PX: f64 = 28.0;
/// The largest optical blur, pixels.
pub const MAX_BLUR_PX: f32 = 5.0;

const W: usize = SENSOR.width as usize;
const H: usize = SENSOR.height as usize;
/// Canvas margin around the digit: room for the blur and the travel.
const PAD: usize = 48;
/// Canvas side.
const CW: usize = DIGIT + 2 * PAD;

/// One movement of the digit on the sensor: it moves by (`dx_px`, `dy_px`)
/// from `start_ms` to `start_ms + duration_ms` with the parameters'
/// [`VelocityProfile`]. Movements that overlap add up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saccade {
    /// Start, ms from the beginning of the recording (may be negative: a
    /// movement under way when the recording starts).
    pub start_ms: f64,
    /// Duration, ms (> 0).
    pub duration_ms: f64,
    /// Displacement along x (columns, rightward), pixels.
    pub dx_px: f64,
    /// Displacement along y (rows, downward), pixels.
    pub dy_px: f64,
}

/// The shape of a movement in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VelocityProfile {
    /// A motor's trapezoid: constant acceleration over the first
    /// `accel_fraction` of the movement, constant speed, constant
    /// deceleration over the last `decel_fraction`.
    Trapezoid,
    /// Minimum jerk (Flash & Hogan 1985): a bell-shaped speed, as an eye's saccade.
    MinJerk,
}

/// The emulator's parameters; [`Default`] holds the values calibrated
/// against the real N-MNIST recordings (`docs/params/emulator.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmulatorParams {
    /// Length of a recording, ms: events at or after it are dropped.
    pub duration_ms: f64,
    /// Simulation step, µs (the low-pass and the refractory period are
    /// resolved at this step; crossing times are interpolated within it).
    pub dt_us: f64,
    /// Position of the digit's top-left pixel on the sensor at t = 0, pixels (x, y).
    pub start_px: [f64; 2],
    /// The movements of the digit (N-MNIST: three legs of a triangle; a leg
    /// may be two movements, x and y, with their own timing).
    pub saccades: Vec<Saccade>,
    /// The shape of every movement in time.
    pub profile: VelocityProfile,
    /// [`VelocityProfile::Trapezoid`]: the fraction of a movement's duration
    /// spent accelerating, dimensionless, in [0, 1].
    pub accel_fraction: f64,
    /// [`VelocityProfile::Trapezoid`]: the fraction spent decelerating,
    /// dimensionless, in [0, 1 - accel_fraction].
    pub decel_fraction: f64,
    /// Standard deviation of a random shift of the whole path per recording, pixels.
    pub offset_sigma_px: f64,
    /// Monitor gamma: luminance = (pixel / 255)^gamma relative to white,
    /// dimensionless (> 0).
    pub gamma: f32,
    /// The monitor shows the digit dark on white (pixel value p displayed
    /// as 255 - p): what N-MNIST's polarities say (an edge moving down gives
    /// OFF events below ON ones, as a dark stroke's does).
    pub negative: bool,
    /// Standard deviation of the optical blur (Gaussian), pixels (0 = none).
    pub blur_px: f32,
    /// Offset in the log intensity ln(I + log_eps), fraction of white (> 0):
    /// the monitor's black level and the photoreceptor's dark current.
    pub log_eps: f32,
    /// Photoreceptor cutoff frequency at full white, Hz (0 = no low-pass).
    pub cutoff_hz: f32,
    /// Intensity added to I before scaling the cutoff, fraction of white:
    /// f3dB = cutoff_hz (I + cutoff_floor) / (1 + cutoff_floor).
    pub cutoff_floor: f32,
    /// Mean ON contrast threshold, log-intensity units (> 0).
    pub threshold_on: f32,
    /// Mean OFF contrast threshold, log-intensity units (> 0).
    pub threshold_off: f32,
    /// Standard deviation of the thresholds across pixels, log-intensity units.
    pub threshold_sigma: f32,
    /// Refractory period after an event, µs.
    pub refractory_us: f64,
    /// Fixed delay added to every event, µs.
    pub latency_us: f64,
    /// Standard deviation of the random delay added to every event
    /// (triangular, zero mean; the total delay is kept >= 0), µs.
    pub jitter_us: f64,
    /// Mean rate of leak events (ON) per pixel, Hz.
    pub leak_rate_hz: f64,
    /// Spread of the leak rate across pixels: the log of a pixel's rate has
    /// this standard deviation (the mean rate stays `leak_rate_hz`), dimensionless.
    pub leak_sigma: f64,
    /// Rate of shot-noise events (ON or OFF at random) per pixel, Hz.
    pub shot_rate_hz: f64,
    /// Seed of the sensor's fixed pattern (threshold mismatch, leak rates):
    /// the same for every recording, as N-MNIST was recorded with one camera.
    pub sensor_seed: u64,
}

impl Default for EmulatorParams {
    /// The values calibrated against 500 real N-MNIST recordings
    /// (`docs/params/emulator.json`, `docs/results/events.md`).
    fn default() -> Self {
        let sac = |start_ms, duration_ms, dx_px, dy_px| Saccade {
            start_ms,
            duration_ms,
            dx_px,
            dy_px,
        };
        EmulatorParams {
            duration_ms: 310.0,
            dt_us: 2000.0,
            start_px: [0.37, 1.71],
            saccades: vec![
                // The triangle: down, then right; right and up; left.
                sac(7.5, 73.5, 0.0, 5.09),
                sac(29.9, 65.5, 2.11, 0.07),
                sac(101.6, 101.8, 3.36, -0.28),
                sac(116.1, 70.1, 0.06, -4.88),
                sac(220.3, 72.2, -4.65, -0.28),
                // The pan-tilt unit's overshoot, coming back after the first two legs.
                sac(69.0, 11.4, 0.0, -0.24),
                sac(213.3, 15.4, -0.32, -0.08),
            ],
            profile: VelocityProfile::Trapezoid,
            accel_fraction: 0.405,
            decel_fraction: 0.42,
            offset_sigma_px: 0.0,
            gamma: 4.1,
            negative: true,
            blur_px: 0.0,
            log_eps: 0.05,
            cutoff_hz: 533.0,
            cutoff_floor: 0.0886,
            threshold_on: 0.346,
            threshold_off: 0.367,
            threshold_sigma: 0.0023,
            refractory_us: 1500.0,
            latency_us: 0.0,
            jitter_us: 479.0,
            leak_rate_hz: 0.361,
            leak_sigma: 0.758,
            shot_rate_hz: 0.0142,
            sensor_seed: 1,
        }
    }
}

/// Streams of a recording's randomness (independent, so that changing one
/// part's parameters leaves the others' draws alone).
const STREAM_PATH: u64 = 1;
const STREAM_PHASE: u64 = 2;
const STREAM_JITTER: u64 = 3;
const STREAM_SHOT: u64 = 4;
/// Streams of the sensor's fixed pattern.
const STREAM_THRESHOLDS: u64 = 11;
const STREAM_LEAK: u64 = 12;

/// The emulator: parameters checked, the sensor's fixed pattern drawn and
/// the path tabulated. Immutable; [`Emulator::record`] may run on many
/// threads at once.
#[derive(Debug, Clone)]
pub struct Emulator {
    p: EmulatorParams,
    /// ON and OFF thresholds per pixel (row-major), log units.
    thr_on: Vec<f32>,
    thr_off: Vec<f32>,
    /// Leak drift per pixel, log units per µs.
    drift: Vec<f32>,
    /// The path's position (digit's top-left, x and y) at every step k = 0..=steps.
    path: Vec<[f64; 2]>,
    /// Luminance of each pixel value.
    lum: [f32; 256],
    /// The blur kernel (odd length), empty for none.
    kernel: Vec<f32>,
    steps: usize,
    dt: f64,
    duration_us: f64,
    /// dt / tau at full cutoff, per unit of (I + floor).
    lp_k: f32,
}

fn bad(what: String) -> Error {
    Error::argument("emulator parameters", what)
}

impl Emulator {
    /// Checks `params` and builds the emulator; an error names the field
    /// and the range it must be in.
    pub fn new(params: &EmulatorParams) -> Result<Emulator, Error> {
        let p = params.clone();
        fn finite_in(name: &str, v: f64, lo: f64, hi: f64) -> Result<(), Error> {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err(bad(format!("{name} must be in [{lo}, {hi}] (got {v})")))
            }
        }
        fn positive(name: &str, v: f64, hi: f64) -> Result<(), Error> {
            if v.is_finite() && v > 0.0 && v <= hi {
                Ok(())
            } else {
                Err(bad(format!("{name} must be > 0 and <= {hi} (got {v})")))
            }
        }
        positive("duration_ms", p.duration_ms, 10_000.0)?;
        finite_in("dt_us", p.dt_us, 1.0, 10_000.0)?;
        finite_in("start_px[0]", p.start_px[0], -64.0, 64.0)?;
        finite_in("start_px[1]", p.start_px[1], -64.0, 64.0)?;
        for (i, s) in p.saccades.iter().enumerate() {
            finite_in(&format!("saccades[{i}].start_ms"), s.start_ms, -10_000.0, 10_000.0)?;
            positive(&format!("saccades[{i}].duration_ms"), s.duration_ms, 10_000.0)?;
            finite_in(&format!("saccades[{i}].dx_px"), s.dx_px, -MAX_TRAVEL_PX, MAX_TRAVEL_PX)?;
            finite_in(&format!("saccades[{i}].dy_px"), s.dy_px, -MAX_TRAVEL_PX, MAX_TRAVEL_PX)?;
        }
        finite_in("accel_fraction", p.accel_fraction, 0.0, 1.0)?;
        finite_in("decel_fraction", p.decel_fraction, 0.0, 1.0 - p.accel_fraction)?;
        finite_in("offset_sigma_px", p.offset_sigma_px, 0.0, 2.0)?;
        positive("gamma", f64::from(p.gamma), 10.0)?;
        finite_in("blur_px", f64::from(p.blur_px), 0.0, f64::from(MAX_BLUR_PX))?;
        finite_in("log_eps", f64::from(p.log_eps), 1e-6, 1e3)?;
        finite_in("cutoff_hz", f64::from(p.cutoff_hz), 0.0, 1e7)?;
        finite_in("cutoff_floor", f64::from(p.cutoff_floor), 0.0, 1e3)?;
        if p.cutoff_hz > 0.0 && p.cutoff_floor <= 0.0 && p.gamma > 0.0 {
            // A black pixel would never follow its input: allowed, but only with a floor.
            return Err(bad(
                "cutoff_floor must be > 0 when cutoff_hz > 0 (a black pixel would never settle)".into(),
            ));
        }
        finite_in(
            "threshold_on",
            f64::from(p.threshold_on),
            f64::from(MIN_THRESHOLD),
            10.0,
        )?;
        finite_in(
            "threshold_off",
            f64::from(p.threshold_off),
            f64::from(MIN_THRESHOLD),
            10.0,
        )?;
        finite_in("threshold_sigma", f64::from(p.threshold_sigma), 0.0, 10.0)?;
        finite_in("refractory_us", p.refractory_us, 0.0, 1e6)?;
        finite_in("latency_us", p.latency_us, 0.0, 1e6)?;
        finite_in("jitter_us", p.jitter_us, 0.0, 1e6)?;
        finite_in("leak_rate_hz", p.leak_rate_hz, 0.0, 1e4)?;
        finite_in("leak_sigma", p.leak_sigma, 0.0, 5.0)?;
        finite_in("shot_rate_hz", p.shot_rate_hz, 0.0, 1e4)?;

        let dt = p.dt_us;
        let duration_us = p.duration_ms * 1000.0;
        let steps = (duration_us / dt).ceil() as usize;
        let path: Vec<[f64; 2]> = (0..=steps).map(|k| position(&p, k as f64 * dt)).collect();
        for axis in 0..2 {
            let lo = path.iter().map(|q| q[axis]).fold(f64::INFINITY, f64::min);
            let hi = path.iter().map(|q| q[axis]).fold(f64::NEG_INFINITY, f64::max);
            if hi - lo > MAX_TRAVEL_PX {
                return Err(bad(format!(
                    "the saccades move the digit {:.1} px along {} (at most {MAX_TRAVEL_PX})",
                    hi - lo,
                    ["x", "y"][axis]
                )));
            }
        }

        // The sensor's fixed pattern.
        let n = W * H;
        let mut r = Xoshiro128pp::seed_from_u64(stream_seed(p.sensor_seed, STREAM_THRESHOLDS, 0));
        let mut draw = |mean: f32| -> f32 {
            let z = math::normal(&mut r) as f32;
            (mean + p.threshold_sigma * z).max(MIN_THRESHOLD)
        };
        let thr_on: Vec<f32> = (0..n).map(|_| draw(p.threshold_on)).collect();
        let thr_off: Vec<f32> = (0..n).map(|_| draw(p.threshold_off)).collect();
        let mut r = Xoshiro128pp::seed_from_u64(stream_seed(p.sensor_seed, STREAM_LEAK, 0));
        let s = p.leak_sigma;
        let drift: Vec<f32> = (0..n)
            .map(|i| {
                let rate = p.leak_rate_hz * math::exp(s * math::normal(&mut r) - 0.5 * s * s);
                (rate * f64::from(thr_on[i]) * 1e-6) as f32
            })
            .collect();

        let mut lum = [0f32; 256];
        // The canvas holds "ink": the change of luminance from the
        // background that a pixel value makes, 0 for 0.
        let display = |v: f64| {
            if v > 0.0 {
                math::exp(f64::from(p.gamma) * math::ln(v / 255.0))
            } else {
                0.0
            }
        };
        for (v, l) in lum.iter_mut().enumerate() {
            *l = if p.negative {
                1.0 - display(255.0 - v as f64)
            } else {
                display(v as f64)
            } as f32;
        }
        let kernel = if p.blur_px > 0.0 {
            let sigma = f64::from(p.blur_px);
            let radius = (3.0 * sigma).ceil() as i64;
            let k: Vec<f64> = (-radius..=radius)
                .map(|i| math::exp(-((i * i) as f64) / (2.0 * sigma * sigma)))
                .collect();
            let sum: f64 = k.iter().sum();
            k.iter().map(|v| (v / sum) as f32).collect()
        } else {
            Vec::new()
        };
        let lp_k = if p.cutoff_hz > 0.0 {
            (dt * 1e-6 * 2.0 * core::f64::consts::PI * f64::from(p.cutoff_hz) / (1.0 + f64::from(p.cutoff_floor)))
                as f32
        } else {
            0.0
        };
        Ok(Emulator {
            p,
            thr_on,
            thr_off,
            drift,
            path,
            lum,
            kernel,
            steps,
            dt,
            duration_us,
            lp_k,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &EmulatorParams {
        &self.p
    }

    /// The digit's position (top-left pixel, x and y) on the sensor at `t_us`.
    pub fn position(&self, t_us: f64) -> [f64; 2] {
        position(&self.p, t_us)
    }

    /// Records `digit` (28 x 28 pixel values, row-major, as MNIST stores
    /// them) into `out` (its contents are replaced): events on the 34 x 34
    /// sensor, `t` in µs from 0 to `duration_ms`, sorted by `t` (events of
    /// equal time in a fixed order). The same `seed` gives the same events
    /// on every machine.
    ///
    /// # Panics
    /// If `digit` is not 784 bytes long.
    pub fn record(&self, digit: &[u8], seed: u64, out: &mut Vec<Event>) {
        assert_eq!(digit.len(), DIGIT * DIGIT, "an MNIST digit is 28 x 28 bytes");
        out.clear();
        let p = &self.p;
        let n = W * H;

        // The scene: luminance on the canvas, blurred.
        let mut canvas = vec![0f32; CW * CW];
        for r in 0..DIGIT {
            for c in 0..DIGIT {
                canvas[(r + PAD) * CW + c + PAD] = self.lum[usize::from(digit[r * DIGIT + c])];
            }
        }
        if !self.kernel.is_empty() {
            blur(&mut canvas, &self.kernel);
        }

        // The recording's shift of the path.
        let (jx, jy) = if p.offset_sigma_px > 0.0 {
            let mut r = Xoshiro128pp::seed_from_u64(stream_seed(seed, STREAM_PATH, 0));
            (
                p.offset_sigma_px * math::normal(&mut r),
                p.offset_sigma_px * math::normal(&mut r),
            )
        } else {
            (0.0, 0.0)
        };
        // Per step: the canvas index of sensor pixel (0, 0) (integer part) and the bilinear fractions.
        let grid: Vec<(i64, i64, f32, f32)> = self
            .path
            .iter()
            .map(|q| {
                let ax = PAD as f64 - (q[0] + jx);
                let ay = PAD as f64 - (q[1] + jy);
                let (ix, iy) = (ax.floor(), ay.floor());
                (ix as i64, iy as i64, (ax - ix) as f32, (ay - iy) as f32)
            })
            .collect();

        // The sensor's pixels the digit ever reaches: pixel (x, y) samples
        // canvas columns x + ix, x + ix + 1 of rows y + iy, y + iy + 1, so it
        // sees something if they meet the non-black box of the canvas.
        let rect = nonzero_box(&canvas).and_then(|(c0, c1, r0, r1)| {
            let (mut x0, mut x1, mut y0, mut y1) = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
            for g in &grid {
                x0 = x0.min(c0 as i64 - 1 - g.0);
                x1 = x1.max(c1 as i64 - g.0);
                y0 = y0.min(r0 as i64 - 1 - g.1);
                y1 = y1.max(r1 as i64 - g.1);
            }
            let rect = Rect {
                x0: x0.max(0) as usize,
                x1: (x1 + 1).clamp(0, W as i64) as usize,
                y0: y0.max(0) as usize,
                y1: (y1 + 1).clamp(0, H as i64) as usize,
            };
            (rect.x0 < rect.x1 && rect.y0 < rect.y1).then_some(rect)
        });

        // Every pixel's leak phase: its level starts `u theta_on` below the signal.
        let mut r = Xoshiro128pp::seed_from_u64(stream_seed(seed, STREAM_PHASE, 0));
        let phase: Vec<f32> = (0..n).map(|_| math::uniform_f32(&mut r)).collect();
        let mut sink = Sink {
            out,
            rng: Xoshiro128pp::seed_from_u64(stream_seed(seed, STREAM_JITTER, 0)),
            latency: p.latency_us,
            jitter: p.jitter_us,
            end: self.duration_us,
        };
        if let Some(rect) = rect {
            self.simulate(&canvas, &grid, rect, &phase, &mut sink);
        }

        // Leak events of the pixels the digit never reaches: their signal is
        // constant, their level drifts down; an event every theta_on / drift.
        for y in 0..H {
            for x in 0..W {
                if rect.is_some_and(|r| (r.x0..r.x1).contains(&x) && (r.y0..r.y1).contains(&y)) {
                    continue;
                }
                let i = y * W + x;
                let drift = f64::from(self.drift[i]);
                if drift <= 0.0 {
                    continue;
                }
                let period = f64::from(self.thr_on[i]) / drift;
                let mut t = (1.0 - f64::from(phase[i])) * period;
                while t < self.duration_us {
                    sink.push(t, x as u16, y as u16, true);
                    t += period;
                }
            }
        }

        // Shot noise: a Poisson process over the whole sensor.
        if p.shot_rate_hz > 0.0 {
            let mut r = Xoshiro128pp::seed_from_u64(stream_seed(seed, STREAM_SHOT, 0));
            let mean_gap = 1e6 / (p.shot_rate_hz * n as f64);
            let mut t = mean_gap * math::exponential(&mut r);
            while t < self.duration_us {
                let u = rand_core::RngCore::next_u32(&mut r);
                let i = ((u64::from(u) * n as u64) >> 32) as usize;
                let on = rand_core::RngCore::next_u32(&mut r) & 1 == 1;
                sink.push(t, (i % W) as u16, (i / W) as u16, on);
                t += mean_gap * math::exponential(&mut r);
            }
        }
        sort_by_time(out);
    }

    /// The pixel loop over `rect`, every step: the pixels' state is laid out
    /// in the rectangle's own rows (stride `rect.x1 - rect.x0`) so that one
    /// flat, vectorised loop updates them all.
    fn simulate(&self, canvas: &[f32], grid: &[(i64, i64, f32, f32)], rect: Rect, phase: &[f32], sink: &mut Sink<'_>) {
        let Rect { x0, x1, y0, y1 } = rect;
        let (rw, rh) = (x1 - x0, y1 - y0);
        let m = rw * rh;
        let eps = self.p.log_eps;
        let floor = self.p.cutoff_floor;
        let lp_k = self.lp_k;
        let refractory = self.p.refractory_us;
        // The sensor's arrays, cut to the rectangle.
        let cut = |v: &[f32]| -> Vec<f32> {
            (y0..y1)
                .flat_map(|y| v[y * W + x0..y * W + x1].iter().copied())
                .collect()
        };
        let (on, off, drift) = (cut(&self.thr_on), cut(&self.thr_off), cut(&self.drift));
        let mut lp = vec![0f32; m];
        let mut prev = vec![0f32; m];
        let mut inten = vec![0f32; m];
        let mut refr = vec![f32::NEG_INFINITY; m];
        // One flag per pixel, whole 8-byte words, to find the few that fire.
        let mut flags = vec![0u8; m.div_ceil(8) * 8];

        // The intensity of the rectangle at step k, bilinear.
        // The background's luminance and the sign of the ink.
        let (base, sign) = if self.p.negative { (1.0f32, -1.0f32) } else { (0.0, 1.0) };
        let intensity = |k: usize, inten: &mut [f32]| {
            let (ix, iy, fx, fy) = grid[k];
            let (w00, w01, w10, w11) = (
                sign * (1.0 - fx) * (1.0 - fy),
                sign * fx * (1.0 - fy),
                sign * (1.0 - fx) * fy,
                sign * fx * fy,
            );
            let cx = (x0 as i64 + ix) as usize;
            for (v, dst) in inten.chunks_exact_mut(rw).enumerate() {
                let cy = ((y0 + v) as i64 + iy) as usize;
                let a = &canvas[cy * CW + cx..cy * CW + cx + rw + 1];
                let b = &canvas[(cy + 1) * CW + cx..(cy + 1) * CW + cx + rw + 1];
                for j in 0..rw {
                    dst[j] = base + (w00 * a[j] + w01 * a[j + 1] + w10 * b[j] + w11 * b[j + 1]);
                }
            }
        };
        // Step 0: every pixel adapted to what it sees, its level at its leak phase.
        intensity(0, &mut inten);
        let mut level: Vec<f32> = (0..m)
            .map(|j| {
                let i = (y0 + j / rw) * W + x0 + j % rw;
                lp[j] = math::ln_fast(inten[j] + eps);
                lp[j] - phase[i] * on[j]
            })
            .collect();

        for k in 1..=self.steps {
            let t0 = (k - 1) as f64 * self.dt;
            let t1 = k as f64 * self.dt;
            let (t0f, t1f) = (t0 as f32, t1 as f32);
            intensity(k, &mut inten);
            // Low-pass and change detection, branch-free (vectorised: every
            // slice cut to the same length, so no index is checked in the loop).
            let mut hit = false;
            {
                let (lp, prev, level, refr) = (&mut lp[..m], &mut prev[..m], &level[..m], &refr[..m]);
                let (inten, flags, drift, on, off) = (&inten[..m], &mut flags[..m], &drift[..m], &on[..m], &off[..m]);
                if lp_k > 0.0 {
                    for j in 0..m {
                        let i = inten[j];
                        let l = math::ln_fast(i + eps);
                        let x = lp_k * (i + floor);
                        let old = lp[j];
                        prev[j] = old;
                        let new = old + x / (1.0 + x) * (l - old);
                        lp[j] = new;
                        let d = new + drift[j] * t1f - level[j];
                        let f = ((d >= on[j]) | (d <= -off[j]) | (refr[j] > t0f)) & (refr[j] <= t1f);
                        flags[j] = f as u8;
                        hit |= f;
                    }
                } else {
                    for j in 0..m {
                        prev[j] = lp[j];
                        let new = math::ln_fast(inten[j] + eps);
                        lp[j] = new;
                        let d = new + drift[j] * t1f - level[j];
                        let f = ((d >= on[j]) | (d <= -off[j]) | (refr[j] > t0f)) & (refr[j] <= t1f);
                        flags[j] = f as u8;
                        hit |= f;
                    }
                }
            }
            if !hit {
                continue;
            }
            for (w, word) in flags.chunks_exact(8).enumerate() {
                let mut bits = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                while bits != 0 {
                    let j = w * 8 + bits.trailing_zeros() as usize / 8;
                    bits &= !(0xffu64 << (bits.trailing_zeros() / 8 * 8));
                    let dr = f64::from(drift[j]);
                    let s0 = f64::from(prev[j]) + dr * t0;
                    let s1 = f64::from(lp[j]) + dr * t1;
                    let mut px = Pixel {
                        level: f64::from(level[j]),
                        refr: f64::from(refr[j]),
                    };
                    let (x, y) = ((x0 + j % rw) as u16, (y0 + j / rw) as u16);
                    px.cross(
                        t0,
                        t1,
                        s0,
                        s1,
                        f64::from(on[j]),
                        f64::from(off[j]),
                        refractory,
                        |t, pol| sink.push(t, x, y, pol),
                    );
                    level[j] = px.level as f32;
                    refr[j] = px.refr as f32;
                }
            }
        }
    }
}

/// A rectangle of the sensor, half-open.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
}

/// One pixel's change detector over a step.
struct Pixel {
    /// The level of the last event (in the frame where the leak is part of the signal).
    level: f64,
    /// End of the refractory period, µs.
    refr: f64,
}

impl Pixel {
    /// The signal goes linearly from `s0` at `t0` to `s1` at `t1`: emits the
    /// crossings of the level plus `on` / minus `off` (`emit(t, polarity)`),
    /// honouring the refractory period.
    #[allow(clippy::too_many_arguments)]
    fn cross(
        &mut self,
        t0: f64,
        t1: f64,
        s0: f64,
        s1: f64,
        on: f64,
        off: f64,
        refractory: f64,
        mut emit: impl FnMut(f64, bool),
    ) {
        let slope = (s1 - s0) / (t1 - t0);
        let (mut ts, mut ss) = (t0, s0);
        if self.refr > t0 {
            if self.refr >= t1 {
                self.level = s1;
                return;
            }
            ts = self.refr;
            ss = s0 + slope * (ts - t0);
            self.level = ss;
        }
        loop {
            let d1 = s1 - self.level;
            let (target, pol) = if d1 >= on {
                (self.level + on, true)
            } else if d1 <= -off {
                (self.level - off, false)
            } else {
                break;
            };
            let tc = if s1 != ss {
                ts + (t1 - ts) * ((target - ss) / (s1 - ss)).clamp(0.0, 1.0)
            } else {
                t1
            };
            emit(tc, pol);
            self.level = target;
            if refractory > 0.0 {
                let te = tc + refractory;
                self.refr = te;
                if te >= t1 {
                    self.level = s1;
                    break;
                }
                ts = te;
                ss = s0 + slope * (te - t0);
                self.level = ss;
            } else {
                ts = tc;
                ss = target;
            }
        }
    }
}

/// Where events go: delayed, dropped past the end.
struct Sink<'a> {
    out: &'a mut Vec<Event>,
    rng: Xoshiro128pp,
    latency: f64,
    jitter: f64,
    end: f64,
}

impl Sink<'_> {
    #[inline]
    fn push(&mut self, t: f64, x: u16, y: u16, on: bool) {
        let mut delay = self.latency;
        if self.jitter > 0.0 {
            // Triangular on [-sqrt 6, sqrt 6] sd: sum of two uniforms, unit variance.
            let u = math::uniform_f32(&mut self.rng) + math::uniform_f32(&mut self.rng) - 1.0;
            delay = (delay + self.jitter * f64::from(u) * 6f64.sqrt()).max(0.0);
        }
        let t = t + delay;
        if t < self.end && t >= 0.0 {
            self.out.push(Event { t: t as u64, x, y, on });
        }
    }
}

/// The digit's position at `t_us`: the start plus the movements done.
fn position(p: &EmulatorParams, t_us: f64) -> [f64; 2] {
    let t = t_us / 1000.0;
    let mut q = p.start_px;
    for s in &p.saccades {
        let tau = (t - s.start_ms) / s.duration_ms;
        let f = match p.profile {
            VelocityProfile::MinJerk => math::min_jerk(tau),
            VelocityProfile::Trapezoid => math::trapezoid(tau, p.accel_fraction, p.decel_fraction),
        };
        q[0] += s.dx_px * f;
        q[1] += s.dy_px * f;
    }
    q
}

/// Separable Gaussian blur of the digit's part of the canvas, in place.
fn blur(canvas: &mut [f32], kernel: &[f32]) {
    let r = kernel.len() / 2;
    let (lo, hi) = (PAD - r, PAD + DIGIT + r);
    let mut tmp = vec![0f32; CW * CW];
    for y in PAD..PAD + DIGIT {
        for x in lo..hi {
            let mut s = 0.0;
            for (k, w) in kernel.iter().enumerate() {
                s += w * canvas[y * CW + x + k - r];
            }
            tmp[y * CW + x] = s;
        }
    }
    for y in lo..hi {
        for x in lo..hi {
            let mut s = 0.0;
            for (k, w) in kernel.iter().enumerate() {
                s += w * tmp[(y + k - r) * CW + x];
            }
            canvas[y * CW + x] = s;
        }
    }
}

/// Sorts events by time, stably (events of equal time keep their order): a
/// least-significant-digit radix sort on `t`, 11 bits a pass (two passes for
/// a recording of up to 4.2 s).
fn sort_by_time(events: &mut Vec<Event>) {
    const BITS: u32 = 11;
    let max = events.iter().map(|e| e.t).max().unwrap_or(0);
    let passes = (64 - max.leading_zeros()).div_ceil(BITS);
    let mut src = std::mem::take(events);
    let mut dst = vec![Event::default(); src.len()];
    for pass in 0..passes {
        let shift = pass * BITS;
        let mut start = [0usize; 1 << BITS];
        for e in &src {
            start[((e.t >> shift) & ((1 << BITS) - 1)) as usize] += 1;
        }
        let mut sum = 0;
        for s in start.iter_mut() {
            let c = *s;
            *s = sum;
            sum += c;
        }
        for e in &src {
            let d = ((e.t >> shift) & ((1 << BITS) - 1)) as usize;
            dst[start[d]] = *e;
            start[d] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
    }
    *events = src;
}

/// The columns and rows (inclusive) where the canvas is not black, if any.
fn nonzero_box(canvas: &[f32]) -> Option<(usize, usize, usize, usize)> {
    let (mut c0, mut c1, mut r0, mut r1) = (usize::MAX, 0, usize::MAX, 0);
    for (y, row) in canvas.chunks_exact(CW).enumerate() {
        if let (Some(lo), Some(hi)) = (row.iter().position(|&v| v > 0.0), row.iter().rposition(|&v| v > 0.0)) {
            c0 = c0.min(lo);
            c1 = c1.max(hi);
            r0 = r0.min(y);
            r1 = r1.max(y);
        }
    }
    (c0 != usize::MAX).then_some((c0, c1, r0, r1))
}

#[cfg(test)]
mod tests;
