//! Transforms of where and which polarity: crops, spatial downsampling,
//! merged polarities.

use super::{argument, check_sensor, Transform};
use crate::{Error, Event, Sensor};

/// Keeps the events inside a rectangle of the sensor and moves them to the
/// rectangle's origin: an event at (`x`, `y`) with `x0 <= x < x0 + width`
/// and `y0 <= y < y0 + height` becomes (`x - x0`, `y - y0`); the others are
/// dropped. tonic's crop (`crop_numpy`, behind `RandomCrop`) with the
/// corner given instead of drawn at random.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropToRegion {
    x0: u16,
    y0: u16,
    width: u16,
    height: u16,
}

impl CropToRegion {
    /// The rectangle of `width` x `height` pixels whose top-left pixel is
    /// (`x0`, `y0`) of `sensor`. An error if it is empty or reaches beyond the sensor.
    pub fn new(sensor: Sensor, x0: u16, y0: u16, width: u16, height: u16) -> Result<Self, Error> {
        const WHO: &str = "CropToRegion";
        check_sensor(WHO, sensor)?;
        if width == 0 || height == 0 {
            return Err(argument(WHO, format!("a region of {width} x {height} pixels is empty")));
        }
        if u32::from(x0) + u32::from(width) > u32::from(sensor.width) {
            return Err(argument(
                WHO,
                format!(
                    "columns {x0}..{} reach beyond the sensor's {} columns",
                    u32::from(x0) + u32::from(width),
                    sensor.width
                ),
            ));
        }
        if u32::from(y0) + u32::from(height) > u32::from(sensor.height) {
            return Err(argument(
                WHO,
                format!(
                    "rows {y0}..{} reach beyond the sensor's {} rows",
                    u32::from(y0) + u32::from(height),
                    sensor.height
                ),
            ));
        }
        Ok(CropToRegion { x0, y0, width, height })
    }

    /// The sensor after the crop: the rectangle's size.
    pub fn sensor(&self) -> Sensor {
        Sensor {
            width: self.width,
            height: self.height,
        }
    }
}

impl Transform for CropToRegion {
    fn apply(&mut self, chunk: &mut Vec<Event>) {
        let CropToRegion { x0, y0, width, height } = *self;
        chunk.retain_mut(|e| {
            let inside = e.x >= x0 && e.x - x0 < width && e.y >= y0 && e.y - y0 < height;
            if inside {
                e.x -= x0;
                e.y -= y0;
            }
            inside
        });
    }
}

/// tonic's `CenterCrop`: the `width` x `height` pixels at the middle of
/// the sensor, moved to the origin. The crop starts at
/// ⌊(sensor − size) / 2⌋ on each axis (tonic's offsets); a size larger than
/// the sensor pads instead (every event is kept and moved by the
/// padding, ⌈(size − sensor) / 2⌉ pixels), as tonic does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CenterCrop {
    offset_x: i32,
    offset_y: i32,
    width: u16,
    height: u16,
}

impl CenterCrop {
    /// The middle `width` x `height` pixels of `sensor`. An error for an empty size.
    pub fn new(sensor: Sensor, width: u16, height: u16) -> Result<Self, Error> {
        const WHO: &str = "CenterCrop";
        check_sensor(WHO, sensor)?;
        if width == 0 || height == 0 {
            return Err(argument(WHO, format!("a crop of {width} x {height} pixels is empty")));
        }
        // Python's `//` rounds down, negative values too.
        let offset = |s: u16, c: u16| (i32::from(s) - i32::from(c)).div_euclid(2);
        Ok(CenterCrop {
            offset_x: offset(sensor.width, width),
            offset_y: offset(sensor.height, height),
            width,
            height,
        })
    }

    /// The sensor after the crop: its size.
    pub fn sensor(&self) -> Sensor {
        Sensor {
            width: self.width,
            height: self.height,
        }
    }
}

impl Transform for CenterCrop {
    fn apply(&mut self, chunk: &mut Vec<Event>) {
        let CenterCrop {
            offset_x,
            offset_y,
            width,
            height,
        } = *self;
        let keep = |v: u16, offset: i32, size: u16| {
            let v = i32::from(v) - offset;
            (0..i32::from(size)).contains(&v).then_some(v as u16)
        };
        chunk.retain_mut(|e| match (keep(e.x, offset_x, width), keep(e.y, offset_y, height)) {
            (Some(x), Some(y)) => {
                e.x = x;
                e.y = y;
                true
            }
            _ => false,
        });
    }
}

/// How one axis is scaled.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    /// `v * num / den`, rounded down, exactly.
    Ratio(u32, u32),
    /// `v * f`, rounded down (tonic's float factor).
    Factor(f64),
}

impl Scale {
    fn map(self, v: u16) -> u16 {
        let out = match self {
            Scale::Ratio(num, den) => u64::from(v) * u64::from(num) / u64::from(den),
            Scale::Factor(f) => (f64::from(v) * f).floor() as u64,
        };
        out.min(u64::from(u16::MAX)) as u16
    }
}

/// tonic's `Downsample`: multiplies the coordinates by a factor per axis
/// and rounds down (x' = ⌊x · factor⌋); drops no events, so several land on
/// one pixel of the smaller sensor. Optionally multiplies the times too
/// (tonic's `time_factor`, t' = ⌊t · factor⌋).
///
/// Three ways to give the factor: an integer division ([`Downsample::by`],
/// x' = x / n exactly), tonic's `spatial_factor` as a float
/// ([`Downsample::spatial_factor`]), or tonic's `target_size`
/// ([`Downsample::target_size`], factor = target / sensor, computed exactly
/// as x' = ⌊x · target / sensor⌋, where tonic's float product can fall one
/// pixel short).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Downsample {
    x: Scale,
    y: Scale,
    time_factor: Option<f64>,
    out: Sensor,
}

const DOWNSAMPLE: &str = "Downsample";

impl Downsample {
    /// Integer division: x' = x / `factor_x`, y' = y / `factor_y` (a block of
    /// `factor_x` x `factor_y` pixels becomes one). An error for a zero factor.
    pub fn by(sensor: Sensor, factor_x: u16, factor_y: u16) -> Result<Self, Error> {
        check_sensor(DOWNSAMPLE, sensor)?;
        if factor_x == 0 || factor_y == 0 {
            return Err(argument(
                DOWNSAMPLE,
                format!("a factor of {factor_x} x {factor_y} divides by zero"),
            ));
        }
        Downsample::with(
            sensor,
            Scale::Ratio(1, u32::from(factor_x)),
            Scale::Ratio(1, u32::from(factor_y)),
        )
    }

    /// tonic's `spatial_factor`: x' = ⌊x · `factor_x`⌋, y' = ⌊y · `factor_y`⌋
    /// (0.25 keeps a quarter of the resolution per axis). An error for a
    /// factor that is not positive and finite, or one that makes the sensor
    /// larger than 65,536 pixels a side.
    pub fn spatial_factor(sensor: Sensor, factor_x: f64, factor_y: f64) -> Result<Self, Error> {
        check_sensor(DOWNSAMPLE, sensor)?;
        for f in [factor_x, factor_y] {
            if !(f.is_finite() && f > 0.0) {
                return Err(argument(
                    DOWNSAMPLE,
                    format!("spatial_factor {f} is not a positive number"),
                ));
            }
        }
        Downsample::with(sensor, Scale::Factor(factor_x), Scale::Factor(factor_y))
    }

    /// tonic's `target_size`: the factor per axis that maps `sensor` onto
    /// `target`, x' = ⌊x · target.width / sensor.width⌋ (exact integers).
    /// An error for an empty target.
    pub fn target_size(sensor: Sensor, target: Sensor) -> Result<Self, Error> {
        check_sensor(DOWNSAMPLE, sensor)?;
        if target.width == 0 || target.height == 0 {
            return Err(argument(
                DOWNSAMPLE,
                format!("target_size {} x {} is empty", target.width, target.height),
            ));
        }
        Downsample::with(
            sensor,
            Scale::Ratio(u32::from(target.width), u32::from(sensor.width)),
            Scale::Ratio(u32::from(target.height), u32::from(sensor.height)),
        )
    }

    fn with(sensor: Sensor, x: Scale, y: Scale) -> Result<Self, Error> {
        // The largest pixel's image, plus one.
        let side = |s: Scale, n: u16| -> Result<u16, Error> {
            let last = match s {
                Scale::Ratio(num, den) => u64::from(n - 1) * u64::from(num) / u64::from(den),
                Scale::Factor(f) => (f64::from(n - 1) * f).floor() as u64,
            };
            u16::try_from(last + 1).map_err(|_| {
                argument(
                    DOWNSAMPLE,
                    format!(
                        "the scaled sensor would be {} pixels a side, more than 65,535",
                        last + 1
                    ),
                )
            })
        };
        let out = Sensor {
            width: side(x, sensor.width)?,
            height: side(y, sensor.height)?,
        };
        Ok(Downsample {
            x,
            y,
            time_factor: None,
            out,
        })
    }

    /// Also multiplies the times: t' = ⌊t · `factor`⌋ (tonic's `time_factor`;
    /// 0.001 turns µs into ms). Times are multiplied as f64, exact up to
    /// 2^53 µs (285 years). An error for a factor that is not positive and finite.
    pub fn time_factor(mut self, factor: f64) -> Result<Self, Error> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(argument(
                DOWNSAMPLE,
                format!("time_factor {factor} is not a positive number"),
            ));
        }
        self.time_factor = Some(factor);
        Ok(self)
    }

    /// The sensor after scaling: the image of the last column and row, plus one.
    pub fn sensor(&self) -> Sensor {
        self.out
    }
}

impl Transform for Downsample {
    fn apply(&mut self, chunk: &mut Vec<Event>) {
        for e in chunk.iter_mut() {
            e.x = self.x.map(e.x);
            e.y = self.y.map(e.y);
            if let Some(f) = self.time_factor {
                e.t = (e.t as f64 * f).floor() as u64;
            }
        }
    }
}

/// tonic's `MergePolarities`: every event becomes OFF (`on = false`,
/// `p` = 0, tonic's choice), so counts and frames have the one polarity in
/// the OFF channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergePolarities;

impl Transform for MergePolarities {
    fn apply(&mut self, chunk: &mut Vec<Event>) {
        for e in chunk.iter_mut() {
            e.on = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::apply_to;
    use crate::ErrorKind;

    const S34: Sensor = Sensor { width: 34, height: 34 };

    fn ev(t: u64, x: u16, y: u16) -> Event {
        Event::new(t, x, y, true)
    }

    fn is_argument(r: Result<impl std::fmt::Debug, Error>) -> bool {
        matches!(
            r,
            Err(Error {
                kind: ErrorKind::Argument(_),
                ..
            })
        )
    }

    #[test]
    fn crop_keeps_the_region_and_moves_it_to_the_origin() {
        let mut c = CropToRegion::new(S34, 10, 20, 5, 4).unwrap();
        let events = [
            ev(1, 10, 20),
            ev(2, 14, 23),
            ev(3, 15, 20),
            ev(4, 9, 21),
            ev(5, 12, 24),
            ev(6, 12, 19),
        ];
        // Only the two corners (10,20) and (14,23) are inside.
        assert_eq!(apply_to(&mut c, &events), vec![ev(1, 0, 0), ev(2, 4, 3)]);
        assert_eq!(c.sensor(), Sensor { width: 5, height: 4 });
    }

    #[test]
    fn crop_of_the_whole_sensor_changes_nothing() {
        let mut c = CropToRegion::new(S34, 0, 0, 34, 34).unwrap();
        let events = [ev(1, 0, 0), ev(2, 33, 33)];
        assert_eq!(apply_to(&mut c, &events), events.to_vec());
    }

    #[test]
    fn crop_outside_the_sensor_or_empty_is_an_argument_error() {
        assert!(is_argument(CropToRegion::new(S34, 30, 0, 5, 5)));
        assert!(is_argument(CropToRegion::new(S34, 0, 30, 5, 5)));
        assert!(is_argument(CropToRegion::new(S34, 0, 0, 0, 5)));
        assert!(is_argument(CropToRegion::new(
            Sensor { width: 0, height: 5 },
            0,
            0,
            1,
            1
        )));
        let e = CropToRegion::new(S34, 30, 0, 5, 5).unwrap_err();
        assert_eq!(
            e.to_string(),
            "CropToRegion: columns 30..35 reach beyond the sensor's 34 columns"
        );
    }

    #[test]
    fn center_crop_takes_the_middle_rounding_the_offset_down() {
        // 34 - 11 = 23, offset 11: columns 11..22.
        let mut c = CenterCrop::new(S34, 11, 11).unwrap();
        let events = [
            ev(1, 11, 11),
            ev(2, 21, 21),
            ev(3, 10, 15),
            ev(4, 22, 15),
            ev(5, 16, 16),
        ];
        assert_eq!(apply_to(&mut c, &events), vec![ev(1, 0, 0), ev(2, 10, 10), ev(5, 5, 5)]);
        assert_eq!(c.sensor(), Sensor { width: 11, height: 11 });
    }

    #[test]
    fn center_crop_larger_than_the_sensor_pads_like_tonic() {
        // Sensor 4 wide, crop 7: offset (4 - 7) // 2 = -2, every event moves 2 right.
        let mut c = CenterCrop::new(Sensor { width: 4, height: 4 }, 7, 4).unwrap();
        let events = [ev(1, 0, 0), ev(2, 3, 3)];
        assert_eq!(apply_to(&mut c, &events), vec![ev(1, 2, 0), ev(2, 5, 3)]);
        assert!(is_argument(CenterCrop::new(S34, 0, 3)));
    }

    #[test]
    fn downsample_by_integers_divides_coordinates_and_keeps_every_event() {
        let mut d = Downsample::by(S34, 2, 3).unwrap();
        let events = [ev(1, 0, 0), ev(2, 1, 2), ev(3, 33, 33), ev(4, 5, 3)];
        assert_eq!(
            apply_to(&mut d, &events),
            vec![ev(1, 0, 0), ev(2, 0, 0), ev(3, 16, 11), ev(4, 2, 1)]
        );
        // 34 / 2 = 17 columns, ceil(34 / 3) = 12 rows.
        assert_eq!(d.sensor(), Sensor { width: 17, height: 12 });
        assert!(is_argument(Downsample::by(S34, 0, 1)));
    }

    #[test]
    fn downsample_spatial_factor_rounds_down_like_tonic() {
        // tonic: x * 0.25 stored in an integer field (truncated).
        let mut d = Downsample::spatial_factor(Sensor { width: 40, height: 20 }, 0.25, 0.5).unwrap();
        let events = [ev(1, 39, 19), ev(2, 3, 3), ev(3, 4, 1)];
        assert_eq!(apply_to(&mut d, &events), vec![ev(1, 9, 9), ev(2, 0, 1), ev(3, 1, 0)]);
        assert_eq!(d.sensor(), Sensor { width: 10, height: 10 });
        assert!(is_argument(Downsample::spatial_factor(S34, 0.0, 1.0)));
        assert!(is_argument(Downsample::spatial_factor(S34, f64::NAN, 1.0)));
        assert!(is_argument(Downsample::spatial_factor(S34, 1e6, 1.0)));
    }

    #[test]
    fn downsample_target_size_maps_the_sensor_onto_the_target() {
        // tonic's example: (40, 20) to (10, 5), a quarter per axis.
        let mut d = Downsample::target_size(Sensor { width: 40, height: 20 }, Sensor { width: 10, height: 5 }).unwrap();
        let events = [ev(1, 39, 19), ev(2, 4, 4)];
        assert_eq!(apply_to(&mut d, &events), vec![ev(1, 9, 4), ev(2, 1, 1)]);
        assert_eq!(d.sensor(), Sensor { width: 10, height: 5 });
        // 3 columns onto 1 exactly (a float 1/3 would need care).
        let mut d = Downsample::target_size(Sensor { width: 3, height: 3 }, Sensor { width: 1, height: 1 }).unwrap();
        assert_eq!(apply_to(&mut d, &[ev(1, 2, 2)]), vec![ev(1, 0, 0)]);
        assert!(is_argument(Downsample::target_size(
            S34,
            Sensor { width: 0, height: 1 }
        )));
    }

    #[test]
    fn downsample_time_factor_scales_times() {
        let mut d = Downsample::by(S34, 1, 1).unwrap().time_factor(0.001).unwrap();
        assert_eq!(apply_to(&mut d, &[ev(1_999, 3, 4)]), vec![ev(1, 3, 4)]);
        assert!(is_argument(Downsample::by(S34, 1, 1).unwrap().time_factor(-1.0)));
    }

    #[test]
    fn merge_polarities_makes_every_event_off() {
        let events = [Event::new(1, 0, 0, true), Event::new(2, 1, 1, false)];
        assert_eq!(
            apply_to(&mut MergePolarities, &events),
            vec![Event::new(1, 0, 0, false), Event::new(2, 1, 1, false)]
        );
    }
}
