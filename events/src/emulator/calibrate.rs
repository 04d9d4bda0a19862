//! Real against synthetic: the measures the emulator is calibrated on, over
//! recordings paired one to one (the real recording of a digit and the
//! emulator's recording of the same digit).
//!
//! - events per recording: median, 10th and 90th percentile, and the
//!   correlation of the pairs' counts;
//! - the ON fraction (mean over recordings);
//! - the event-rate profile: the share of all events in each 10 ms bin
//!   ([`BIN_US`]), and the Pearson correlation of the two profiles;
//! - the centroid path: per bin, the events' mean position relative to their
//!   recording's mean, pooled over recordings (N-MNIST's triangle), and the
//!   RMS distance between the two paths;
//! - the polarity geometry: per bin, the mean position of the ON events
//!   minus that of the OFF events (which edge of a moving stroke fires ON
//!   says whether the digit is bright on dark or dark on bright), and the
//!   RMS distance between the two;
//! - the median interval between two events of one pixel (the refractory
//!   period and the speed of the edges);
//! - the events in the sensor's outer frame ([`FRAME_PX`] pixels wide), which
//!   the digit seldom reaches: mostly noise, and its ON fraction;
//! - the count images (34 x 34, both polarities together): the mean Pearson
//!   r of the pairs; and of the polarity count images (ON and OFF apart, 2 x
//!   34 x 34);
//! - the transfer of a nearest-class-centroid classifier of count images:
//!   trained on synthetic recordings and tested on real ones, against trained
//!   and tested on real ones ([`Split`]); with polarities together and apart.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

use crate::Event;

use super::{H, W};

/// Width of the profile's and the centroid path's bins, µs.
pub const BIN_US: u64 = 10_000;
/// Bins of the profile: 0-320 ms (N-MNIST's recordings end by ~310 ms;
/// later events fall into the last bin).
pub const BINS: usize = 32;

/// Width of the sensor's outer frame whose events measure the noise, pixels.
pub const FRAME_PX: usize = 3;

/// Which recordings train the classifier and which test it (indices into
/// the paired lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The training recordings.
    pub train: Range<usize>,
    /// Named test sets.
    pub tests: Vec<(String, Range<usize>)>,
}

/// One side's figures (real or synthetic).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// Median events per recording.
    pub events_median: f64,
    /// 10th percentile of events per recording.
    pub events_p10: f64,
    /// 90th percentile of events per recording.
    pub events_p90: f64,
    /// Mean ON fraction over recordings.
    pub on_fraction: f64,
    /// Share of all events per 10 ms bin, percent ([`BINS`] bins).
    pub profile: Vec<f64>,
    /// Events' mean (x, y) per bin relative to their recording's mean,
    /// pixels; `None` for a bin without events.
    pub centroid: Vec<Option<[f64; 2]>>,
    /// Mean position of the ON events minus that of the OFF events per bin,
    /// pixels; `None` for a bin without both.
    pub on_minus_off: Vec<Option<[f64; 2]>>,
    /// Median interval between consecutive events of one pixel, µs.
    pub pixel_interval_median_us: f64,
    /// Median time of the last event, µs.
    pub last_event_median_us: f64,
    /// Events per pixel of the outer frame ([`FRAME_PX`] wide), mean over recordings.
    pub frame_events_per_pixel: f64,
    /// ON fraction of the frame's events (pooled).
    pub frame_on_fraction: f64,
}

/// A classifier's accuracy on one test set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transfer {
    /// The test set's name.
    pub name: String,
    /// Test recordings.
    pub n: usize,
    /// Accuracy of the classifier trained on the synthetic recordings, on the real ones.
    pub synth_to_real: f64,
    /// Accuracy of the classifier trained on the real recordings, on the real ones.
    pub real_to_real: f64,
    /// As `synth_to_real`, on the polarity count images (ON and OFF apart).
    pub synth_to_real_polarity: f64,
    /// As `real_to_real`, on the polarity count images.
    pub real_to_real_polarity: f64,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Pairs compared.
    pub recordings: usize,
    /// The real recordings' figures.
    pub real: Side,
    /// The synthetic recordings' figures.
    pub synth: Side,
    /// Pearson r of the pairs' event counts.
    pub count_r: f64,
    /// Pearson r of the two rate profiles.
    pub profile_r: f64,
    /// Sum over bins of |real share - synthetic share| / 2: the share of
    /// events that would have to move bins (0 = same profile), fraction.
    pub profile_distance: f64,
    /// RMS distance of the two centroid paths over the bins where both have
    /// events (weighted by the real share of the bin), pixels.
    pub centroid_rms_px: f64,
    /// RMS distance of the two ON-minus-OFF paths, weighted alike, pixels.
    pub polarity_rms_px: f64,
    /// Mean Pearson r of the pairs' 34 x 34 count images.
    pub image_r: f64,
    /// Mean Pearson r of the pairs' polarity count images (ON and OFF apart).
    pub polarity_image_r: f64,
    /// The classifier's transfer, per test set of the [`Split`].
    pub transfer: Vec<Transfer>,
}

/// Compares real recordings with synthetic ones of the same digits
/// (`real[i]` and `synth[i]` are digit `i`, of class `labels[i]`); the
/// classifier trains and tests on `split`.
///
/// # Panics
/// If the three lists differ in length or a range of `split` goes past them.
pub fn compare(real: &[Vec<Event>], synth: &[Vec<Event>], labels: &[u8], split: &Split) -> Report {
    assert_eq!(real.len(), synth.len(), "paired recordings");
    assert_eq!(real.len(), labels.len(), "a label per pair");
    let rs = side(real);
    let ss = side(synth);
    let counts = |v: &[Vec<Event>]| v.iter().map(|r| r.len() as f64).collect::<Vec<_>>();
    let count_r = pearson(&counts(real), &counts(synth));
    let profile_r = pearson(&rs.profile, &ss.profile);
    let profile_distance = rs
        .profile
        .iter()
        .zip(&ss.profile)
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>()
        / 200.0;
    let rms = |a: &[Option<[f64; 2]>], c: &[Option<[f64; 2]>]| {
        let (mut sq, mut wsum) = (0.0, 0.0);
        for (b, (a, c)) in a.iter().zip(c).enumerate() {
            if let (Some(a), Some(c)) = (a, c) {
                let w = rs.profile[b];
                sq += w * ((a[0] - c[0]).powi(2) + (a[1] - c[1]).powi(2));
                wsum += w;
            }
        }
        if wsum > 0.0 {
            (sq / wsum).sqrt()
        } else {
            f64::NAN
        }
    };
    let centroid_rms_px = rms(&rs.centroid, &ss.centroid);
    let polarity_rms_px = rms(&rs.on_minus_off, &ss.on_minus_off);
    let mean_r = |a: &[Vec<f32>], b: &[Vec<f32>]| {
        let rs: Vec<f64> = a
            .iter()
            .zip(b)
            .map(|(a, b)| pearson32(a, b))
            .filter(|r| r.is_finite())
            .collect();
        if rs.is_empty() {
            f64::NAN
        } else {
            rs.iter().sum::<f64>() / rs.len() as f64
        }
    };
    let ri: Vec<Vec<f32>> = real.iter().map(|r| count_image(r)).collect();
    let si: Vec<Vec<f32>> = synth.iter().map(|r| count_image(r)).collect();
    let rp: Vec<Vec<f32>> = real.iter().map(|r| polarity_image(r)).collect();
    let sp: Vec<Vec<f32>> = synth.iter().map(|r| polarity_image(r)).collect();
    let image_r = mean_r(&ri, &si);
    let polarity_image_r = mean_r(&rp, &sp);
    let train = split.train.clone();
    let trl = &labels[train.clone()];
    let transfer = split
        .tests
        .iter()
        .map(|(name, test)| {
            let tl = &labels[test.clone()];
            let acc =
                |tr: &[Vec<f32>], te: &[Vec<f32>]| nearest_centroid(&tr[train.clone()], trl, &te[test.clone()], tl);
            Transfer {
                name: name.clone(),
                n: test.len(),
                synth_to_real: acc(&si, &ri),
                real_to_real: acc(&ri, &ri),
                synth_to_real_polarity: acc(&sp, &rp),
                real_to_real_polarity: acc(&rp, &rp),
            }
        })
        .collect();
    Report {
        recordings: real.len(),
        real: rs,
        synth: ss,
        count_r,
        profile_r,
        profile_distance,
        centroid_rms_px,
        polarity_rms_px,
        image_r,
        polarity_image_r,
        transfer,
    }
}

/// One side's figures.
pub fn side(recs: &[Vec<Event>]) -> Side {
    let mut counts: Vec<f64> = recs.iter().map(|r| r.len() as f64).collect();
    counts.sort_by(f64::total_cmp);
    let on: Vec<f64> = recs
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.iter().filter(|e| e.on).count() as f64 / r.len() as f64)
        .collect();
    let on_fraction = if on.is_empty() {
        f64::NAN
    } else {
        on.iter().sum::<f64>() / on.len() as f64
    };
    let mut hist = [0u64; BINS];
    let mut cx = [0f64; BINS];
    let mut cy = [0f64; BINS];
    // Per bin: ON and OFF events' summed positions (relative to the recording's mean) and counts.
    let mut pol = [[0f64; 6]; BINS];
    let mut intervals = Vec::new();
    let mut last_t: Vec<f64> = Vec::with_capacity(recs.len());
    let mut seen = vec![u64::MAX; W * H];
    let in_frame = |x: usize, y: usize| x < FRAME_PX || y < FRAME_PX || x >= W - FRAME_PX || y >= H - FRAME_PX;
    let frame_pixels = (0..H)
        .flat_map(|y| (0..W).map(move |x| (x, y)))
        .filter(|&(x, y)| in_frame(x, y))
        .count();
    let (mut frame, mut frame_on) = (0u64, 0u64);
    for r in recs {
        if r.is_empty() {
            continue;
        }
        let n = r.len() as f64;
        let mx = r.iter().map(|e| f64::from(e.x)).sum::<f64>() / n;
        let my = r.iter().map(|e| f64::from(e.y)).sum::<f64>() / n;
        seen.fill(u64::MAX);
        for e in r {
            let b = ((e.t / BIN_US) as usize).min(BINS - 1);
            hist[b] += 1;
            cx[b] += f64::from(e.x) - mx;
            cy[b] += f64::from(e.y) - my;
            let k = if e.on { 0 } else { 3 };
            pol[b][k] += f64::from(e.x) - mx;
            pol[b][k + 1] += f64::from(e.y) - my;
            pol[b][k + 2] += 1.0;
            let (x, y) = (usize::from(e.x), usize::from(e.y));
            if x < W && y < H {
                if in_frame(x, y) {
                    frame += 1;
                    frame_on += u64::from(e.on);
                }
                let i = y * W + x;
                if seen[i] != u64::MAX {
                    intervals.push(e.t.saturating_sub(seen[i]) as f64);
                }
                seen[i] = e.t;
            }
        }
        last_t.push(r.iter().map(|e| e.t).max().unwrap_or(0) as f64);
    }
    let total: u64 = hist.iter().sum();
    let profile = hist
        .iter()
        .map(|&h| {
            if total > 0 {
                100.0 * h as f64 / total as f64
            } else {
                0.0
            }
        })
        .collect();
    let centroid = (0..BINS)
        .map(|b| (hist[b] > 0).then(|| [cx[b] / hist[b] as f64, cy[b] / hist[b] as f64]))
        .collect();
    let on_minus_off = pol
        .iter()
        .map(|q| (q[2] > 0.0 && q[5] > 0.0).then(|| [q[0] / q[2] - q[3] / q[5], q[1] / q[2] - q[4] / q[5]]))
        .collect();
    intervals.sort_by(f64::total_cmp);
    last_t.sort_by(f64::total_cmp);
    Side {
        events_median: quantile(&counts, 0.5),
        events_p10: quantile(&counts, 0.1),
        events_p90: quantile(&counts, 0.9),
        on_fraction,
        profile,
        centroid,
        on_minus_off,
        pixel_interval_median_us: quantile(&intervals, 0.5),
        last_event_median_us: quantile(&last_t, 0.5),
        frame_events_per_pixel: if recs.is_empty() {
            f64::NAN
        } else {
            frame as f64 / (frame_pixels * recs.len()) as f64
        },
        frame_on_fraction: if frame > 0 {
            frame_on as f64 / frame as f64
        } else {
            f64::NAN
        },
    }
}

/// The `q` quantile of sorted values (linear interpolation between ranks);
/// NaN for none.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos - pos.floor());
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] + f * (sorted[j] - sorted[i])
}

/// Pearson's r of two equally long series; NaN if either is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    if a.is_empty() {
        return f64::NAN;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        f64::NAN
    } else {
        sab / (saa * sbb).sqrt()
    }
}

fn pearson32(a: &[f32], b: &[f32]) -> f64 {
    let a: Vec<f64> = a.iter().map(|&v| f64::from(v)).collect();
    let b: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
    pearson(&a, &b)
}

/// A recording's count image: events per pixel of the 34 x 34 sensor, both
/// polarities, row-major (events outside the sensor are left out).
pub fn count_image(events: &[Event]) -> Vec<f32> {
    let mut img = vec![0f32; W * H];
    for e in events {
        let (x, y) = (usize::from(e.x), usize::from(e.y));
        if x < W && y < H {
            img[y * W + x] += 1.0;
        }
    }
    img
}

/// A recording's polarity count image: the ON events' count image, then the
/// OFF events' (2 x 34 x 34).
pub fn polarity_image(events: &[Event]) -> Vec<f32> {
    let mut img = vec![0f32; 2 * W * H];
    for e in events {
        let (x, y) = (usize::from(e.x), usize::from(e.y));
        if x < W && y < H {
            img[usize::from(!e.on) * W * H + y * W + x] += 1.0;
        }
    }
    img
}

/// The accuracy of a nearest-class-centroid classifier: every image is
/// scaled to unit length (so the total count does not matter), a class's
/// centroid is the mean of its training images, a test image goes to the
/// class whose centroid is nearest (Euclidean; ties to the lower class).
/// Classes without training images are never predicted. NaN without test images.
pub fn nearest_centroid(train: &[Vec<f32>], train_labels: &[u8], test: &[Vec<f32>], test_labels: &[u8]) -> f64 {
    assert_eq!(train.len(), train_labels.len());
    assert_eq!(test.len(), test_labels.len());
    if test.is_empty() {
        return f64::NAN;
    }
    let dim = train.first().or(test.first()).map_or(0, Vec::len);
    let unit = |v: &[f32]| -> Vec<f64> {
        let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
        v.iter()
            .map(|&x| if norm > 0.0 { f64::from(x) / norm } else { 0.0 })
            .collect()
    };
    let mut sums = vec![vec![0f64; dim]; 256];
    let mut n = [0usize; 256];
    for (img, &l) in train.iter().zip(train_labels) {
        for (s, v) in sums[usize::from(l)].iter_mut().zip(unit(img)) {
            *s += v;
        }
        n[usize::from(l)] += 1;
    }
    let centroids: Vec<(u8, Vec<f64>)> = (0..256)
        .filter(|&c| n[c] > 0)
        .map(|c| (c as u8, sums[c].iter().map(|s| s / n[c] as f64).collect()))
        .collect();
    let mut right = 0;
    for (img, &l) in test.iter().zip(test_labels) {
        let u = unit(img);
        let mut best = (f64::INFINITY, 0u8);
        for (c, m) in &centroids {
            let d: f64 = u.iter().zip(m).map(|(a, b)| (a - b) * (a - b)).sum();
            if d < best.0 {
                best = (d, *c);
            }
        }
        right += usize::from(best.1 == l && best.0.is_finite());
    }
    right as f64 / test.len() as f64
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (r, s) = (&self.real, &self.synth);
        writeln!(f, "{} recordings, real | synthetic", self.recordings)?;
        writeln!(
            f,
            "events per recording: median {:.0} | {:.0}; 10th-90th percentile {:.0}-{:.0} | {:.0}-{:.0}; pairs' r {:.3}",
            r.events_median, s.events_median, r.events_p10, r.events_p90, s.events_p10, s.events_p90, self.count_r
        )?;
        writeln!(f, "ON fraction: {:.3} | {:.3}", r.on_fraction, s.on_fraction)?;
        writeln!(
            f,
            "last event (median): {:.1} | {:.1} ms; same-pixel interval (median): {:.2} | {:.2} ms",
            r.last_event_median_us / 1000.0,
            s.last_event_median_us / 1000.0,
            r.pixel_interval_median_us / 1000.0,
            s.pixel_interval_median_us / 1000.0
        )?;
        writeln!(
            f,
            "outer frame ({FRAME_PX} px, mostly noise): {:.3} | {:.3} events per pixel; ON fraction {:.2} | {:.2}",
            r.frame_events_per_pixel, s.frame_events_per_pixel, r.frame_on_fraction, s.frame_on_fraction
        )?;
        writeln!(
            f,
            "rate profile (% of events per 10 ms): r {:.3}, distance {:.3}",
            self.profile_r, self.profile_distance
        )?;
        writeln!(
            f,
            "  ms    real  synth   centroid real     centroid synth    ON - OFF real     ON - OFF synth"
        )?;
        let c =
            |v: &Option<[f64; 2]>| v.map_or("      -      ".to_string(), |q| format!("({:5.2}, {:5.2})", q[0], q[1]));
        for b in 0..BINS {
            writeln!(
                f,
                "  {:3}  {:5.2}  {:5.2}   {}   {}   {}   {}",
                b as u64 * BIN_US / 1000,
                r.profile[b],
                s.profile[b],
                c(&r.centroid[b]),
                c(&s.centroid[b]),
                c(&r.on_minus_off[b]),
                c(&s.on_minus_off[b])
            )?;
        }
        writeln!(
            f,
            "centroid path: RMS distance {:.2} px; ON - OFF: RMS distance {:.2} px",
            self.centroid_rms_px, self.polarity_rms_px
        )?;
        writeln!(
            f,
            "count images: mean r of the pairs {:.3} (ON and OFF apart: {:.3})",
            self.image_r, self.polarity_image_r
        )?;
        for t in &self.transfer {
            writeln!(
                f,
                "nearest-centroid on {} ({} real recordings): trained on synthetic {:.3}, on real {:.3}; ON and OFF apart: {:.3}, {:.3}",
                t.name, t.n, t.synth_to_real, t.real_to_real, t.synth_to_real_polarity, t.real_to_real_polarity
            )?;
        }
        Ok(())
    }
}
