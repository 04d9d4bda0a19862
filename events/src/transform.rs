//! tonic's transforms as small functions over the stream.
//!
//! A [`Transform`] changes a chunk of events in place (drops some, moves
//! their coordinates or times) and keeps what it must remember between
//! chunks (the last time at each pixel, for [`Denoise`] and
//! [`RefractoryPeriod`]), so a recording of any size goes through it chunk
//! by chunk as [`Reader::next_chunk`](crate::Reader::next_chunk) gives
//! them; a whole small recording is one chunk. [`Compose`] chains them.
//! What is not stream to stream is a function or a consumer: the slicers
//! ([`slice_by_time`], [`slice_by_count`]) over a recording held whole, and
//! the count frames ([`to_frames`], and [`FrameAccumulator`] fed chunk by chunk).
//!
//! Units: times in microseconds (µs), coordinates in pixels, as
//! [`Event`] has them. The names of the parameters are tonic's
//! (`filter_time`, `spatial_factor`, `time_window`, `overlap`,
//! `include_incomplete`, `n_time_bins`), and so are the definitions; where
//! this crate departs from tonic's numpy code (an edge case or a quirk of
//! its start-up state) the item's documentation says how.
//!
//! A transform that needs the sensor's size takes a [`Sensor`] and returns
//! an argument error ([`ErrorKind::Argument`](crate::ErrorKind::Argument))
//! for parameters that cannot be met (a zero factor, a crop outside the
//! sensor); the ones that move pixels tell the sensor they leave
//! (`sensor()`), for the next transform.
//!
//! ```
//! use stdp_events::transform::{Compose, Denoise, Downsample, Transform};
//! use stdp_events::{Event, Sensor};
//! let sensor = Sensor { width: 34, height: 34 };
//! let mut t = Compose::new()
//!     .then(Denoise::new(sensor, 10_000)?)
//!     .then(Downsample::by(sensor, 2, 2)?);
//! let mut chunk = vec![Event::new(0, 10, 10, true), Event::new(5, 11, 10, false)];
//! t.apply(&mut chunk);
//! // The first has no neighbour before it; the second's neighbour fired 5 µs before.
//! assert_eq!(chunk, vec![Event::new(5, 5, 5, false)]);
//! # Ok::<(), stdp_events::Error>(())
//! ```

mod filter;
mod frame;
mod slice;
mod spatial;
mod time;

pub use filter::{Denoise, RefractoryPeriod};
pub use frame::{to_frames, Bins, Frame, FrameAccumulator};
pub use slice::{slice_by_count, slice_by_time, Slices};
pub use spatial::{CenterCrop, CropToRegion, Downsample, MergePolarities};
pub use time::TimeWindow;

use crate::{Error, Event, Sensor};

/// A transform of the stream: changes a chunk of events in place, keeping
/// across chunks whatever it must remember.
///
/// Chunks must come in the stream's order; a transform with state
/// ([`Denoise`], [`RefractoryPeriod`]) treats them as one stream until
/// [`Transform::reset`].
pub trait Transform {
    /// Transforms `chunk` in place: drops events from it and changes the
    /// ones it keeps (their order is kept).
    fn apply(&mut self, chunk: &mut Vec<Event>);

    /// Forgets what earlier chunks left (before the next recording); a
    /// transform without state does nothing.
    fn reset(&mut self) {}
}

impl<T: Transform + ?Sized> Transform for Box<T> {
    fn apply(&mut self, chunk: &mut Vec<Event>) {
        (**self).apply(chunk)
    }
    fn reset(&mut self) {
        (**self).reset()
    }
}

impl<T: Transform + ?Sized> Transform for &mut T {
    fn apply(&mut self, chunk: &mut Vec<Event>) {
        (**self).apply(chunk)
    }
    fn reset(&mut self) {
        (**self).reset()
    }
}

/// Transforms applied one after the other, in the order they were added
/// (tonic's `Compose`).
#[derive(Default)]
pub struct Compose {
    transforms: Vec<Box<dyn Transform + Send>>,
}

impl Compose {
    /// No transforms yet: passes chunks unchanged.
    pub fn new() -> Self {
        Compose::default()
    }

    /// Adds `t` after the transforms so far.
    pub fn then(mut self, t: impl Transform + Send + 'static) -> Self {
        self.push(Box::new(t));
        self
    }

    /// Adds a boxed transform after the transforms so far.
    pub fn push(&mut self, t: Box<dyn Transform + Send>) {
        self.transforms.push(t);
    }

    /// How many transforms it chains.
    pub fn len(&self) -> usize {
        self.transforms.len()
    }

    /// Whether it chains none.
    pub fn is_empty(&self) -> bool {
        self.transforms.is_empty()
    }
}

impl Transform for Compose {
    fn apply(&mut self, chunk: &mut Vec<Event>) {
        for t in &mut self.transforms {
            t.apply(chunk);
        }
    }

    fn reset(&mut self) {
        for t in &mut self.transforms {
            t.reset();
        }
    }
}

/// `transform` applied to a whole (small) recording: a copy of `events`, transformed.
pub fn apply_to(transform: &mut impl Transform, events: &[Event]) -> Vec<Event> {
    let mut out = events.to_vec();
    transform.apply(&mut out);
    out
}

/// The argument error of transform `who`.
fn argument(who: &str, what: impl Into<String>) -> Error {
    Error::argument(who, what)
}

/// Refuses a sensor without pixels.
fn check_sensor(who: &str, sensor: Sensor) -> Result<(), Error> {
    if sensor.width == 0 || sensor.height == 0 {
        return Err(argument(
            who,
            format!("a sensor of {} x {} pixels has none", sensor.width, sensor.height),
        ));
    }
    Ok(())
}

/// Refuses events not in time order (`t` must not decrease): the index of the first that steps back.
fn check_order(who: &str, events: &[Event]) -> Result<(), Error> {
    if let Some(i) = events.windows(2).position(|w| w[1].t < w[0].t) {
        return Err(argument(
            who,
            format!(
                "events are not in time order: event {} at {} µs comes after one at {} µs",
                i + 1,
                events[i + 1].t,
                events[i].t
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drops ON events: a stateless transform for the composition tests.
    struct DropOn;
    impl Transform for DropOn {
        fn apply(&mut self, chunk: &mut Vec<Event>) {
            chunk.retain(|e| !e.on);
        }
    }

    #[test]
    fn compose_applies_in_the_order_added() {
        let sensor = Sensor { width: 10, height: 10 };
        // Crop first, then drop ON: (5,5) ON goes, (6,6) OFF moves to (1,1).
        let mut t = Compose::new()
            .then(CropToRegion::new(sensor, 5, 5, 5, 5).unwrap())
            .then(DropOn);
        let mut chunk = vec![
            Event::new(1, 5, 5, true),
            Event::new(2, 6, 6, false),
            Event::new(3, 0, 0, false),
        ];
        t.apply(&mut chunk);
        assert_eq!(chunk, vec![Event::new(2, 1, 1, false)]);
        assert_eq!(t.len(), 2);
        assert!(Compose::new().is_empty());
    }

    #[test]
    fn compose_passes_reset_to_every_transform() {
        let sensor = Sensor { width: 4, height: 1 };
        let mut t = Compose::new().then(DropOn).then(Denoise::new(sensor, 100).unwrap());
        // (0,0) at 0 µs has no neighbour before it: dropped, but remembered.
        let mut first = vec![Event::new(0, 0, 0, false)];
        t.apply(&mut first);
        assert!(first.is_empty());
        // Its neighbour 10 µs later is kept...
        let mut second = vec![Event::new(10, 1, 0, false)];
        t.apply(&mut second);
        assert_eq!(second.len(), 1);
        // (2,0) would be kept by (1,0) at 10 µs, but reset forgot it.
        t.reset();
        let mut third = vec![Event::new(10, 2, 0, false)];
        t.apply(&mut third);
        assert!(third.is_empty());
    }

    #[test]
    fn apply_to_leaves_the_input_alone() {
        let events = [Event::new(1, 0, 0, true), Event::new(2, 0, 0, false)];
        assert_eq!(apply_to(&mut DropOn, &events), vec![Event::new(2, 0, 0, false)]);
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn order_check_names_the_event_that_steps_back() {
        let e = check_order("x", &[Event::new(5, 0, 0, true), Event::new(4, 0, 0, true)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x: events are not in time order: event 1 at 4 µs comes after one at 5 µs"
        );
        assert!(check_order("x", &[]).is_ok());
    }
}
