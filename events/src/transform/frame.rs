//! tonic's `ToFrame`: events counted per pixel and polarity in bins of
//! time; whole ([`to_frames`]) or streaming ([`FrameAccumulator`]).

use super::{argument, check_order, check_sensor};
use crate::{Error, Event, Sensor};

/// The counts of one time bin: per pixel, how many ON and how many OFF
/// events it had in `[t_start, t_end)` µs. tonic's frame is the same
/// counts as an array `[polarity][y][x]` with channel 0 = OFF (p = 0) and
/// 1 = ON; here the two are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The bin's first µs.
    pub t_start: u64,
    /// The bin's end, µs, excluded.
    pub t_end: u64,
    /// The sensor: the counts' width and height.
    pub sensor: Sensor,
    /// ON events per pixel, row by row: pixel (x, y) at `y * width + x`.
    pub on: Vec<u32>,
    /// OFF events per pixel, laid out as `on`.
    pub off: Vec<u32>,
}

impl Frame {
    /// A frame of zeros for `sensor` over `[t_start, t_end)` µs.
    pub fn empty(sensor: Sensor, t_start: u64, t_end: u64) -> Frame {
        let pixels = usize::from(sensor.width) * usize::from(sensor.height);
        Frame {
            t_start,
            t_end,
            sensor,
            on: vec![0; pixels],
            off: vec![0; pixels],
        }
    }

    /// (ON, OFF) counts at pixel (`x`, `y`). Panics outside the sensor.
    pub fn at(&self, x: u16, y: u16) -> (u32, u32) {
        assert!(
            x < self.sensor.width && y < self.sensor.height,
            "pixel ({x}, {y}) outside the frame"
        );
        let i = usize::from(y) * usize::from(self.sensor.width) + usize::from(x);
        (self.on[i], self.off[i])
    }

    /// Events counted: (ON, OFF).
    pub fn events(&self) -> (u64, u64) {
        let sum = |v: &[u32]| v.iter().map(|&c| u64::from(c)).sum();
        (sum(&self.on), sum(&self.off))
    }

    /// Counts `e` (on the sensor); returns whether it was.
    fn count(&mut self, e: &Event) -> bool {
        let w = usize::from(self.sensor.width);
        if e.x >= self.sensor.width || e.y >= self.sensor.height {
            return false;
        }
        let i = usize::from(e.y) * w + usize::from(e.x);
        let c = if e.on { &mut self.on[i] } else { &mut self.off[i] };
        *c = c.saturating_add(1);
        true
    }

    fn clear(&mut self, t_start: u64, t_end: u64) {
        self.on.fill(0);
        self.off.fill(0);
        self.t_start = t_start;
        self.t_end = t_end;
    }
}

/// Count frames made chunk by chunk: memory is one frame, whatever the
/// recording's length. Bin k is `[start + k·time_window, start + (k+1)·time_window)`
/// µs; each is handed out once complete (an event of a later bin has come),
/// empty bins included, so the k-th frame handed out is bin k.
///
/// ```
/// use stdp_events::transform::FrameAccumulator;
/// use stdp_events::{Event, Sensor};
/// let mut acc = FrameAccumulator::new(Sensor { width: 2, height: 1 }, 10, 0)?;
/// let mut counts = Vec::new();
/// acc.push(&[Event::new(3, 0, 0, true), Event::new(25, 1, 0, false)], |f| counts.push(f.events()));
/// acc.finish(|f| counts.push(f.events()));
/// assert_eq!(counts, vec![(1, 0), (0, 0), (0, 1)]); // bins 0-10, 10-20, 20-30 µs
/// # Ok::<(), stdp_events::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameAccumulator {
    frame: Frame,
    start: u64,
    window: u64,
    end: Option<u64>,
    /// The current bin's index.
    bin: u64,
    /// Whether an event has been counted or a bin passed.
    begun: bool,
    before: u64,
    after: u64,
    outside: u64,
}

impl FrameAccumulator {
    /// Bins of `time_window` µs from `start_time` µs on, for `sensor`. An
    /// error for a zero window or a sensor without pixels.
    pub fn new(sensor: Sensor, time_window: u64, start_time: u64) -> Result<Self, Error> {
        const WHO: &str = "FrameAccumulator";
        check_sensor(WHO, sensor)?;
        if time_window == 0 {
            return Err(argument(WHO, "time_window 0 µs holds no time"));
        }
        Ok(FrameAccumulator {
            frame: Frame::empty(sensor, start_time, start_time.saturating_add(time_window)),
            start: start_time,
            window: time_window,
            end: None,
            bin: 0,
            begun: false,
            before: 0,
            after: 0,
            outside: 0,
        })
    }

    /// Ends the bins at `end_time` µs (excluded): events from it on are
    /// not counted, and [`FrameAccumulator::finish`] hands out every bin
    /// that starts before it, empty or not: ⌈(end − start) / time_window⌉
    /// frames in all. An error for an end not after the start.
    pub fn end_time(mut self, end_time: u64) -> Result<Self, Error> {
        if end_time <= self.start {
            return Err(argument(
                "FrameAccumulator",
                format!("end_time {end_time} µs is not after start_time {} µs", self.start),
            ));
        }
        self.end = Some(end_time);
        Ok(self)
    }

    /// The bins' width, µs.
    pub fn time_window(&self) -> u64 {
        self.window
    }

    /// The first bin's start, µs.
    pub fn start_time(&self) -> u64 {
        self.start
    }

    /// Counts `chunk`, calling `emit` with each frame completed by it, in
    /// order. An event earlier than the current bin (a stream not in time
    /// order) is counted in the current bin.
    pub fn push(&mut self, chunk: &[Event], mut emit: impl FnMut(&Frame)) {
        for e in chunk {
            if e.t < self.start {
                self.before += 1;
                continue;
            }
            if self.end.is_some_and(|end| e.t >= end) {
                self.after += 1;
                continue;
            }
            if e.x >= self.frame.sensor.width || e.y >= self.frame.sensor.height {
                self.outside += 1;
                continue;
            }
            if e.t >= self.frame.t_end {
                let bin = (e.t - self.start) / self.window;
                while self.bin < bin {
                    self.advance(&mut emit);
                }
            }
            self.frame.count(e);
            self.begun = true;
        }
    }

    fn advance(&mut self, emit: &mut impl FnMut(&Frame)) {
        emit(&self.frame);
        self.bin += 1;
        let t0 = self.start.saturating_add(self.bin.saturating_mul(self.window));
        self.frame.clear(t0, t0.saturating_add(self.window));
        self.begun = true;
    }

    /// Hands out the last frame: the bin of the last event counted (none
    /// if no event was), or with [`FrameAccumulator::end_time`] every bin
    /// up to the end.
    pub fn finish(mut self, mut emit: impl FnMut(&Frame)) {
        match self.end {
            Some(end) => {
                while self.frame.t_end < end {
                    self.advance(&mut emit);
                }
                emit(&self.frame);
            }
            None => {
                if self.begun {
                    emit(&self.frame);
                }
            }
        }
    }

    /// Events not counted because they came before the start time.
    pub fn before(&self) -> u64 {
        self.before
    }

    /// Events not counted because they came at or after the end time.
    pub fn after(&self) -> u64 {
        self.after
    }

    /// Events not counted because they were outside the sensor.
    pub fn outside(&self) -> u64 {
        self.outside
    }
}

/// How [`to_frames`] bins a recording (tonic's `ToFrame` parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bins {
    /// tonic's `time_window`: bins of this many µs from the first event's
    /// time, as many as it takes to count every event (⌊(last − first) /
    /// window⌋ + 1). This is tonic's `include_incomplete=True`, but for a
    /// recording whose span is a multiple of the window: tonic leaves its
    /// last events out, here they have a bin.
    TimeWindow(u64),
    /// tonic's `n_time_bins`: exactly this many bins of ⌊(last − first) / n⌋
    /// µs from the first event's time. As tonic, the events after the last
    /// bin (the rounding's remainder, and the last time itself) are not counted.
    NTimeBins(usize),
}

/// A recording held whole (in time order) counted into frames; tonic's
/// `ToFrame(sensor_size, time_window=…)` or `ToFrame(…, n_time_bins=…)`.
/// Events outside the sensor are not counted. No events: one frame of
/// zeros (`TimeWindow`, over `[0, window)`) or `n` of them (`NTimeBins`,
/// over `[0, 0)`), the shapes tonic gives. An error for a zero window or
/// count, a recording shorter than `n` µs (bins of 0 µs), or events out of
/// order.
pub fn to_frames(events: &[Event], sensor: Sensor, bins: Bins) -> Result<Vec<Frame>, Error> {
    const WHO: &str = "to_frames";
    check_sensor(WHO, sensor)?;
    check_order(WHO, events)?;
    let mut acc = match bins {
        Bins::TimeWindow(0) => return Err(argument(WHO, "time_window 0 µs holds no time")),
        Bins::NTimeBins(0) => return Err(argument(WHO, "n_time_bins 0 makes no frames")),
        Bins::TimeWindow(w) => {
            let Some(first) = events.first() else {
                return Ok(vec![Frame::empty(sensor, 0, w)]);
            };
            FrameAccumulator::new(sensor, w, first.t)?
        }
        Bins::NTimeBins(n) => {
            let (Some(first), Some(last)) = (events.first(), events.last()) else {
                return Ok(vec![Frame::empty(sensor, 0, 0); n]);
            };
            let d = last.t - first.t;
            let w = d / n as u64;
            if w == 0 {
                return Err(argument(
                    WHO,
                    format!("the recording spans {d} µs, less than n_time_bins {n}: bins of 0 µs"),
                ));
            }
            FrameAccumulator::new(sensor, w, first.t)?.end_time(first.t + w * n as u64)?
        }
    };
    let mut frames = Vec::new();
    acc.push(events, |f| frames.push(f.clone()));
    acc.finish(|f| frames.push(f.clone()));
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Sensor = Sensor { width: 3, height: 2 };

    fn on(t: u64, x: u16, y: u16) -> Event {
        Event::new(t, x, y, true)
    }
    fn off(t: u64, x: u16, y: u16) -> Event {
        Event::new(t, x, y, false)
    }

    #[test]
    fn frames_count_on_and_off_per_pixel_per_bin() {
        let events = [
            on(100, 0, 0),
            on(105, 0, 0),
            off(109, 2, 1),
            on(110, 1, 1),
            off(125, 1, 1),
        ];
        let frames = to_frames(&events, S, Bins::TimeWindow(10)).unwrap();
        // Bins from the first event: [100,110), [110,120), [120,130).
        assert_eq!(frames.len(), 3);
        assert_eq!((frames[0].t_start, frames[0].t_end), (100, 110));
        assert_eq!(frames[0].on, vec![2, 0, 0, 0, 0, 0]);
        assert_eq!(frames[0].off, vec![0, 0, 0, 0, 0, 1]);
        assert_eq!(frames[1].at(1, 1), (1, 0));
        assert_eq!(frames[1].events(), (1, 0));
        assert_eq!(frames[2].at(1, 1), (0, 1));
        assert_eq!((frames[2].t_start, frames[2].t_end), (120, 130));
    }

    #[test]
    fn an_event_at_a_bin_edge_opens_the_next_bin() {
        // Span 20 is a multiple of 10: the event at 20 gets a bin of its own (tonic would drop it).
        let frames = to_frames(&[on(0, 0, 0), on(10, 0, 0), on(20, 0, 0)], S, Bins::TimeWindow(10)).unwrap();
        assert_eq!(frames.iter().map(|f| f.events().0).collect::<Vec<_>>(), vec![1, 1, 1]);
    }

    #[test]
    fn n_time_bins_rounds_the_width_down_like_tonic() {
        // Span 25 in 2 bins: width 12, bins [0,12), [12,24); 24 and 25 are in none.
        let events = [on(0, 0, 0), on(11, 0, 0), on(12, 1, 0), on(24, 2, 0), on(25, 2, 0)];
        let frames = to_frames(&events, S, Bins::NTimeBins(2)).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].events(), (2, 0));
        assert_eq!(frames[1].events(), (1, 0));
        assert_eq!((frames[1].t_start, frames[1].t_end), (12, 24));
        assert!(to_frames(&events, S, Bins::NTimeBins(26)).is_err());
    }

    #[test]
    fn empty_bins_are_frames_and_no_events_give_tonics_shapes() {
        let frames = to_frames(&[on(0, 0, 0), on(35, 0, 0)], S, Bins::TimeWindow(10)).unwrap();
        assert_eq!(
            frames.iter().map(|f| f.events().0).collect::<Vec<_>>(),
            vec![1, 0, 0, 1]
        );
        assert_eq!(to_frames(&[], S, Bins::TimeWindow(10)).unwrap().len(), 1);
        assert_eq!(to_frames(&[], S, Bins::NTimeBins(4)).unwrap().len(), 4);
    }

    #[test]
    fn frame_arguments_are_checked() {
        assert!(to_frames(&[], S, Bins::TimeWindow(0)).is_err());
        assert!(to_frames(&[], S, Bins::NTimeBins(0)).is_err());
        assert!(to_frames(&[on(5, 0, 0), on(4, 0, 0)], S, Bins::TimeWindow(10)).is_err());
        assert!(to_frames(&[], Sensor { width: 0, height: 1 }, Bins::TimeWindow(10)).is_err());
        assert!(FrameAccumulator::new(S, 10, 5).unwrap().end_time(5).is_err());
    }

    #[test]
    fn accumulator_fed_in_chunks_equals_the_whole_and_counts_what_it_skips() {
        let events: Vec<Event> = (0..200u64)
            .map(|i| Event::new(i * 7, (i % 3) as u16, (i % 2) as u16, i % 5 == 0))
            .collect();
        let whole = to_frames(&events, S, Bins::TimeWindow(50)).unwrap();
        let mut acc = FrameAccumulator::new(S, 50, 0).unwrap();
        let mut chunked = Vec::new();
        for c in events.chunks(13) {
            acc.push(c, |f| chunked.push(f.clone()));
        }
        acc.finish(|f| chunked.push(f.clone()));
        assert_eq!(chunked, whole);
        // Start 100, end 300, one event outside the sensor.
        let mut acc = FrameAccumulator::new(S, 50, 100).unwrap().end_time(300).unwrap();
        let mut n = 0;
        acc.push(&events, |_| n += 1);
        acc.push(&[on(150, 7, 0)], |_| n += 1);
        assert_eq!((acc.before(), acc.after(), acc.outside()), (15, 157, 1));
        acc.finish(|_| n += 1);
        // [100,150), [150,200), [200,250), [250,300).
        assert_eq!(n, 4);
    }

    #[test]
    fn accumulator_without_events_hands_out_nothing_unless_it_has_an_end() {
        let acc = FrameAccumulator::new(S, 10, 0).unwrap();
        let mut n = 0;
        acc.finish(|_| n += 1);
        assert_eq!(n, 0);
        let acc = FrameAccumulator::new(S, 10, 0).unwrap().end_time(25).unwrap();
        acc.finish(|_| n += 1);
        assert_eq!(n, 3);
    }

    #[test]
    fn real_nmnist_frames_count_every_event() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/events/nmnist_sample.bin"
        );
        let events = crate::read_file(path).expect("the shared N-MNIST sample at ../shared/data/events");
        let frames = to_frames(&events, Sensor { width: 34, height: 34 }, Bins::TimeWindow(10_000)).unwrap();
        // 654 to 311,175 µs: 31 bins of 10 ms and the one of the last event.
        assert_eq!(frames.len(), 32);
        let (on, off) = frames
            .iter()
            .fold((0, 0), |a, f| (a.0 + f.events().0, a.1 + f.events().1));
        // reference.json: 2,145 ON, 2,180 OFF.
        assert_eq!((on, off), (2145, 2180));
    }
}
