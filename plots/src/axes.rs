//! What every chart shares: tick labels, padded data ranges, the legend
//! corner.

use plotters::prelude::SeriesLabelPosition;

/// Axis tick text of the single charts: up to four decimals, trailing
/// zeros dropped (`10000`, `0.25`).
pub(crate) fn tick(v: &f64) -> String {
    let a = v.abs();
    if a < 1e-9 {
        "0".to_string()
    } else if !(1e-3..1e7).contains(&a) {
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Axis tick text of the panels and scatter plots: four significant
/// digits, trailing zeros dropped (their axes span many decades).
pub(crate) fn tick_significant(v: &f64) -> String {
    let a = v.abs();
    if a < 1e-12 {
        "0".to_string()
    } else if !(1e-4..1e6).contains(&a) {
        format!("{v:.1e}")
    } else {
        let digits = (3 - a.log10().floor() as i32).clamp(0, 8) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// `[lo, hi]` of `values` widened by `pad` of the span (or by 0.5 if flat;
/// `[0, 1]` without values).
pub(crate) fn padded_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        return (lo - 0.5, hi + 0.5);
    }
    let margin = (hi - lo) * pad;
    (lo - margin, hi + margin)
}

/// A plot corner: (upper, right).
pub(crate) type Corner = (bool, bool);

/// Corners in the order a legend prefers them on ties.
pub(crate) const UPPER_RIGHT_FIRST: [Corner; 4] = [(true, true), (false, true), (true, false), (false, false)];
/// Lower right first (scatter plots: scores rise, the best dots are high).
pub(crate) const LOWER_RIGHT_FIRST: [Corner; 4] = [(false, true), (true, true), (false, false), (true, false)];

/// The plot corner, as a legend position, whose box of `size` (share of
/// the plot's width and height) covers the fewest of `points`; ties go to
/// the first corner of `order`.
pub(crate) fn emptiest_corner(
    points: impl Iterator<Item = (f64, f64)>,
    x: (f64, f64),
    y: (f64, f64),
    size: (f64, f64),
    order: [Corner; 4],
) -> SeriesLabelPosition {
    let (box_w, box_h) = size;
    let mut counts = [0usize; 4];
    for (px, py) in points {
        let u = (px - x.0) / (x.1 - x.0);
        let v = (py - y.0) / (y.1 - y.0);
        let (left, right, lower, upper) = (u < box_w, u > 1.0 - box_w, v < box_h, v > 1.0 - box_h);
        for (k, &(up, r)) in order.iter().enumerate() {
            counts[k] += usize::from((if up { upper } else { lower }) && (if r { right } else { left }));
        }
    }
    let best = (0..4).min_by_key(|&k| counts[k]).unwrap_or(0);
    match order[best] {
        (true, true) => SeriesLabelPosition::UpperRight,
        (false, true) => SeriesLabelPosition::LowerRight,
        (true, false) => SeriesLabelPosition::UpperLeft,
        (false, false) => SeriesLabelPosition::LowerLeft,
    }
}

/// Points along line series, 16 per segment plus each series' end: what a
/// legend must not cover.
pub(crate) fn along(series: &[Vec<(f64, f64)>]) -> impl Iterator<Item = (f64, f64)> + '_ {
    series.iter().flat_map(|s| {
        let inner = s.windows(2).flat_map(|pair| {
            let (a, b) = (pair[0], pair[1]);
            (0..16).map(move |k| {
                let f = f64::from(k) / 16.0;
                (a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1))
            })
        });
        inner.chain(s.last().copied())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_drop_trailing_zeros() {
        let t = |v: f64| tick(&v);
        assert_eq!(
            (t(10000.0), t(0.25), t(20.6000001), t(-3.0), t(0.0)),
            ("10000".into(), "0.25".into(), "20.6".into(), "-3".into(), "0".into())
        );
        assert_eq!(t(2.5e-5), "2.50e-5");
    }

    #[test]
    fn significant_ticks_are_short() {
        let t = |v: f64| tick_significant(&v);
        assert_eq!(t(0.25), "0.25");
        assert_eq!(t(-100.0), "-100");
        assert_eq!(t(2.5e-5), "2.5e-5");
        assert_eq!(t(-0.0015), "-0.0015");
        assert_eq!(t(150.0), "150");
    }

    #[test]
    fn ranges_pad_and_the_legend_avoids_the_data() {
        assert_eq!(padded_range([1.0, 3.0].into_iter(), 0.25), (0.5, 3.5));
        assert_eq!(padded_range([2.0, 2.0].into_iter(), 0.25), (1.5, 2.5));
        assert_eq!(padded_range(std::iter::empty(), 0.25), (0.0, 1.0));
        // A rising line fills the lower left and upper right.
        let line = vec![vec![(0.0, 0.0), (1.0, 1.0)]];
        let c = emptiest_corner(along(&line), (0.0, 1.0), (0.0, 1.0), (0.3, 0.3), UPPER_RIGHT_FIRST);
        assert_eq!(c, SeriesLabelPosition::LowerRight);
        // Nothing drawn: the first corner of the order.
        let c = emptiest_corner(
            std::iter::empty(),
            (0.0, 1.0),
            (0.0, 1.0),
            (0.3, 0.3),
            LOWER_RIGHT_FIRST,
        );
        assert_eq!(c, SeriesLabelPosition::LowerRight);
    }
}
