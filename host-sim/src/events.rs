//! `host-sim events ...`: event-camera recordings: info, convert, render,
//! synth (the DVS emulator over MNIST).

use anyhow::Result;
use clap::Subcommand;

#[path = "events_io.rs"]
mod io;
#[cfg(feature = "plots")]
#[path = "events_render.rs"]
mod render;
#[path = "events_synth.rs"]
mod synth;

/// Its arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Summarise a recording: format, sensor, events, duration, ON/OFF, mean and peak rate.
    Info(io::InfoArgs),
    /// Convert a recording; the output's extension picks the format
    /// (.csv, .npy, .bin for N-MNIST, .raw for EVT 2.0, .aedat4).
    Convert(io::ConvertArgs),
    #[cfg(feature = "plots")]
    /// Draw a recording: an animated GIF of time bins (ON and OFF in two
    /// colours), or a PNG of count images per saccade with the event-rate histogram.
    Render(render::RenderArgs),
    /// Make N-MNIST-like recordings from MNIST digits with the DVS emulator,
    /// in N-MNIST's layout (Train/<label>/<id>.bin, Test/...).
    Synth(synth::SynthArgs),
    /// Compare the emulator's recordings of MNIST digits with real N-MNIST
    /// recordings of the same digits (counts, ON fraction, rate profile,
    /// centroid path, count images, classifier transfer).
    Calibrate(synth::CalibrateArgs),
}

/// Runs it.
pub fn run(a: Args) -> Result<()> {
    match a.command {
        Command::Info(a) => io::info(a),
        Command::Convert(a) => io::convert(a),
        #[cfg(feature = "plots")]
        Command::Render(a) => render::render(a),
        Command::Synth(a) => synth::synth(a),
        Command::Calibrate(a) => synth::calibrate(a),
    }
}
