//! Transforms of when: a window of time.

use super::{argument, Transform};
use crate::{Error, Event};

/// Keeps the events with `start <= t < end` (µs) and drops the others;
/// times are not moved. tonic's `CropTime` keeps `min <= t <= max`, its end
/// included; here the end is excluded, so consecutive windows
/// `[a, b)`, `[b, c)` share no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    start: u64,
    end: u64,
}

impl TimeWindow {
    /// The window `[start, end)` in µs. An error if it is empty (`end <= start`).
    pub fn new(start: u64, end: u64) -> Result<Self, Error> {
        if end <= start {
            return Err(argument(
                "TimeWindow",
                format!("the window {start}..{end} µs is empty: its end must come after its start"),
            ));
        }
        Ok(TimeWindow { start, end })
    }

    /// From `start` µs to the end of the stream.
    pub fn from(start: u64) -> Self {
        TimeWindow { start, end: u64::MAX }
    }

    /// Its start, µs (included).
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Its end, µs (excluded).
    pub fn end(&self) -> u64 {
        self.end
    }
}

impl Transform for TimeWindow {
    fn apply(&mut self, chunk: &mut Vec<Event>) {
        let range = self.start..self.end;
        chunk.retain(|e| range.contains(&e.t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::apply_to;

    #[test]
    fn time_window_keeps_start_and_drops_end() {
        let events: Vec<Event> = [99, 100, 150, 199, 200]
            .iter()
            .map(|&t| Event::new(t, 0, 0, true))
            .collect();
        let kept = apply_to(&mut TimeWindow::new(100, 200).unwrap(), &events);
        assert_eq!(kept.iter().map(|e| e.t).collect::<Vec<_>>(), vec![100, 150, 199]);
        let kept = apply_to(&mut TimeWindow::from(150), &events);
        assert_eq!(kept.iter().map(|e| e.t).collect::<Vec<_>>(), vec![150, 199, 200]);
    }

    #[test]
    fn empty_time_window_is_an_argument_error() {
        assert!(TimeWindow::new(5, 5).is_err());
        assert!(TimeWindow::new(6, 5).is_err());
        assert_eq!(
            TimeWindow::new(6, 5).unwrap_err().to_string(),
            "TimeWindow: the window 6..5 µs is empty: its end must come after its start"
        );
    }
}
