//! A recording's summary, folded chunk by chunk: what `events info` prints
//! and what `reference.json` holds for the shared recordings.

use crate::read::{Format, Reader, Sensor};
use crate::{Error, Event};

/// Width of the bins of the peak rate, µs (10 ms, as the N-MNIST facts use).
pub const PEAK_BIN_US: u64 = 10_000;

/// The summary of a stream of events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Events.
    pub events: u64,
    /// ON events.
    pub on: u64,
    /// OFF events.
    pub off: u64,
    /// First event's time, µs (0 when there are none).
    pub t_first_us: u64,
    /// Last event's time, µs.
    pub t_last_us: u64,
    /// Largest x and y seen, plus one (0 when there are no events).
    pub extent: (u32, u32),
    /// Sum of x, of y, and of t - t_first (the reference decodes' checksums).
    pub sum_x: u64,
    /// Sum of y.
    pub sum_y: u64,
    /// Sum of t - t_first, µs.
    pub sum_t_minus_first: u128,
    /// Events with a time earlier than the event before them, as the stream gave them.
    pub backward: u64,
    /// Most events in one [`PEAK_BIN_US`] bin (bins from `t_first_us`).
    pub peak_bin_events: u64,
    bin: u64,
    bin_events: u64,
}

impl Stats {
    /// Folds in a chunk.
    pub fn add(&mut self, chunk: &[Event]) {
        for e in chunk {
            if self.events == 0 {
                self.t_first_us = e.t;
                self.t_last_us = e.t;
            }
            if e.t < self.t_last_us {
                self.backward += 1;
            }
            self.events += 1;
            self.on += e.on as u64;
            self.sum_x += u64::from(e.x);
            self.sum_y += u64::from(e.y);
            self.sum_t_minus_first += u128::from(e.t.saturating_sub(self.t_first_us));
            self.t_last_us = e.t;
            self.extent.0 = self.extent.0.max(u32::from(e.x) + 1);
            self.extent.1 = self.extent.1.max(u32::from(e.y) + 1);
            let bin = (e.t.saturating_sub(self.t_first_us)) / PEAK_BIN_US;
            if bin != self.bin {
                self.bin = bin;
                self.bin_events = 0;
            }
            self.bin_events += 1;
            self.peak_bin_events = self.peak_bin_events.max(self.bin_events);
        }
        self.off = self.events - self.on;
    }

    /// Duration from the first to the last event, µs.
    pub fn duration_us(&self) -> u64 {
        self.t_last_us.saturating_sub(self.t_first_us)
    }

    /// Mean rate over the recording, events per second (0 for less than two events' span).
    pub fn mean_rate(&self) -> f64 {
        let d = self.duration_us();
        if d == 0 {
            0.0
        } else {
            self.events as f64 * 1e6 / d as f64
        }
    }

    /// Peak rate: the busiest [`PEAK_BIN_US`] bin, events per second.
    pub fn peak_rate(&self) -> f64 {
        self.peak_bin_events as f64 * 1e6 / PEAK_BIN_US as f64
    }
}

/// A file's summary: its format, sensor and [`Stats`].
#[derive(Debug, Clone)]
pub struct Summary {
    /// The detected format.
    pub format: Format,
    /// The sensor: the file's, widened to hold every event seen.
    pub sensor: Sensor,
    /// The events' figures.
    pub stats: Stats,
    /// Events moved to keep time non-decreasing (the reader's `Order::Clamp`).
    pub clamped: u64,
}

/// Reads `reader` to the end and summarises it; `progress` is called after
/// each chunk with the input's byte offset.
pub fn summarise(mut reader: Reader, mut progress: impl FnMut(u64)) -> Result<Summary, Error> {
    let mut stats = Stats::default();
    while let Some(chunk) = reader.next_chunk()? {
        stats.add(chunk);
        progress(reader.offset());
    }
    let file = reader.sensor().unwrap_or(Sensor { width: 0, height: 0 });
    let sensor = Sensor {
        width: (u32::from(file.width).max(stats.extent.0)).min(u32::from(u16::MAX)) as u16,
        height: (u32::from(file.height).max(stats.extent.1)).min(u32::from(u16::MAX)) as u16,
    };
    Ok(Summary {
        format: reader.format(),
        sensor,
        stats,
        clamped: reader.clamped(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_count_polarity_extent_and_peak_bin() {
        let ev = [
            Event::new(100, 3, 4, true),
            Event::new(200, 0, 9, false),
            Event::new(10_150, 1, 1, true),
            Event::new(10_160, 1, 1, true),
            Event::new(10_170, 1, 1, false),
        ];
        let mut s = Stats::default();
        s.add(&ev[..2]);
        s.add(&ev[2..]);
        assert_eq!((s.events, s.on, s.off), (5, 3, 2));
        assert_eq!(s.extent, (4, 10));
        assert_eq!((s.t_first_us, s.t_last_us), (100, 10_170));
        assert_eq!(s.peak_bin_events, 3, "bin [10,100, 20,100) µs holds the last three");
        assert_eq!(s.sum_t_minus_first, 100 + 10_050 + 10_060 + 10_070);
        assert_eq!(s.backward, 0);
    }
}
