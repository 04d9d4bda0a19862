//! Colour maps and palettes.

use plotters::style::RGBColor;

/// matplotlib's `hot_r`: 0 is white, then yellow, red, and 1 is black.
pub(crate) fn hot_r(x: f64) -> RGBColor {
    let t = 1.0 - x.clamp(0.0, 1.0);
    let r = (t * 8.0 / 3.0).clamp(0.0, 1.0);
    let g = (t * 8.0 / 3.0 - 1.0).clamp(0.0, 1.0);
    let b = (t * 4.0 - 3.0).clamp(0.0, 1.0);
    RGBColor(to_u8(r), to_u8(g), to_u8(b))
}

/// matplotlib's `Blues`, coarsely: white, mid blue, dark blue.
pub(crate) fn blues(x: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 3] = [(247.0, 251.0, 255.0), (107.0, 174.0, 214.0), (8.0, 48.0, 107.0)];
    let x = x.clamp(0.0, 1.0) * 2.0;
    let (lo, hi, f) = if x <= 1.0 {
        (STOPS[0], STOPS[1], x)
    } else {
        (STOPS[1], STOPS[2], x - 1.0)
    };
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    RGBColor(mix(lo.0, hi.0), mix(lo.1, hi.1), mix(lo.2, hi.2))
}

pub(crate) fn to_u8(x: f64) -> u8 {
    (x * 255.0).round().clamp(0.0, 255.0) as u8
}

/// matplotlib's `tab10` qualitative palette, for line series.
pub const TAB10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour between receptive-field tiles.
pub const TILE_GAP_COLOR: RGBColor = RGBColor(150, 150, 150);
/// Colour of the class label written on each receptive-field tile.
pub(crate) const TILE_LABEL_COLOR: RGBColor = RGBColor(20, 90, 200);
/// Fill of histogram bars.
pub const HISTOGRAM_BAR_COLOR: RGBColor = RGBColor(70, 130, 180);
/// Colour of spike ticks in a raster.
pub const RASTER_SPIKE_COLOR: RGBColor = RGBColor(25, 25, 112);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_r_runs_from_white_through_red_to_black() {
        assert_eq!(hot_r(0.0), RGBColor(255, 255, 255));
        assert_eq!(hot_r(1.0), RGBColor(0, 0, 0));
        assert_eq!(hot_r(0.5), RGBColor(255, 85, 0));
    }
}
