//! `host-sim device`: classify test digits on the firmware over its UART
//! (upload, then compare every answer with the host's twin of the chip):
//! MNIST digits, or the Test recordings of an N-MNIST layout directory
//! streamed event by event to an event model.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use stdp_core::crc::crc32;
use stdp_events::dataset::{Part, Split};
use stdp_host::device::{load_image, load_test_set, open, stream_recordings, Client};
use stdp_host::export::ImageSim;
use stdp_host::sim::dc::classify;
use stdp_nir::load_model;

use crate::args::data_dir;

/// Its arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Where the device's UART is: `unix:PATH` (a Unix socket, e.g. QEMU's
    /// `-chardev socket,path=PATH,server=on,wait=off`), `tcp:HOST:PORT`
    /// (e.g. QEMU's `-serial tcp::PORT,server=on,wait=off`) or `serial:DEVICE`
    /// (e.g. `serial:/dev/ttyACM0`, 115200 8N1).
    #[arg(long)]
    pub connect: String,
    /// MNIST directory (the test set is used), or an N-MNIST layout
    /// directory (its `Test/` recordings are streamed to an event model).
    /// Default: MNIST in the cache directory (see `train --help`).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Model: a model file (`host-sim train`) or an image (`host-sim export`).
    #[arg(long)]
    pub model: PathBuf,
    /// Number of test digits (or recordings) to classify.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Seed of the on-chip Poisson encoding (digit i uses seed + i).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seconds to wait for one reply.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Do not upload: use the model already on the device (it must be the same image).
    #[arg(long)]
    pub no_upload: bool,
}

/// `host-sim device`: upload, classify `limit` test digits on the device,
/// and compare each with `ImageSim::infer` on the same input and seed.
pub fn run(a: &Args) -> Result<()> {
    let image = load_image(&a.model, load_model)?;
    let mut twin = ImageSim::new(image.clone())?;
    let data = data_dir(a.data.clone())?;
    let events = stdp_events::dataset::is_layout(&data);
    match (events, twin.events().is_some()) {
        (true, false) => bail!(
            "{} holds event recordings and the model takes digits (784 inputs); give an event model",
            data.display()
        ),
        (false, true) => bail!(
            "the model takes events and {} holds MNIST digits; give an N-MNIST layout directory",
            data.display()
        ),
        _ => {}
    }
    let mut dev = connect(a, &image)?;
    if events {
        return run_events(a, &data, &mut dev, &mut twin);
    }
    let test = load_test_set(&data)?;
    let limit = a.limit.min(test.len());
    let (mut correct_dev, mut correct_host, mut same_class, mut same_counts) = (0, 0, 0, 0);
    let mut ticks = 0u64;
    let t = Instant::now();
    for i in 0..limit {
        let pixels = test.digit(i);
        let seed = a.seed.wrapping_add(i as u64);
        let d = dev.classify(pixels, seed, true).with_context(|| format!("digit {i}"))?;
        let h = twin.infer(pixels, seed)?;
        let hc = classify(&h.counts, &twin.assignments);
        let label = test.label(i);
        correct_dev += (d.summary.class == label) as usize;
        correct_host += (hc == label) as usize;
        same_class += (d.summary.class == hc) as usize;
        same_counts += (d.counts == h.counts && d.summary.retries as u32 == h.retries) as usize;
        ticks += d.summary.ticks as u64;
        if d.counts != h.counts {
            eprintln!("digit {i}: the device's spike counts differ from the host's");
        }
    }
    let pct = |k: usize| 100.0 * k as f64 / limit.max(1) as f64;
    println!(
        "{limit} digits in {:.1} s: device accuracy {:.1} %, host (fixed, same image) {:.1} %",
        t.elapsed().as_secs_f64(),
        pct(correct_dev),
        pct(correct_host)
    );
    println!(
        "agreement with the host: classes {same_class}/{limit}, per-neuron spike counts {same_counts}/{limit}; \
         mean {:.0} clock ticks per digit",
        ticks as f64 / limit.max(1) as f64
    );
    if same_class != limit || same_counts != limit {
        bail!(
            "the device disagrees with the host on {} digits",
            limit - same_counts.min(same_class)
        );
    }
    Ok(())
}

/// Connects to the device and uploads the image (or, with `--no-upload`,
/// checks that the device holds it).
fn connect(a: &Args, image: &[u8]) -> Result<Client> {
    let timeout = Duration::from_secs(a.timeout.max(1));
    let mut dev = Client::new(open(&a.connect, timeout)?, timeout);
    let info = dev.info()?;
    eprintln!(
        "device: protocol {}, up to {} inputs x {} neurons, upload {} B, {} B RAM free",
        info.protocol, info.max_inputs, info.max_neurons, info.upload_capacity, info.free_ram
    );
    if a.no_upload {
        if info.model_crc != crc32(image) {
            bail!(
                "--no-upload: the device's model (CRC {:#010x}) is not this image",
                info.model_crc
            );
        }
        dev.reset(false)?;
    } else {
        let t = Instant::now();
        let (ni, n) = dev.upload(image)?;
        eprintln!(
            "uploaded {} bytes ({ni} x {n}) in {:.1} s",
            image.len(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(dev)
}

/// Streams the first `limit` Test recordings of an N-MNIST layout
/// directory to the device and compares each run with the twin's
/// ([`stdp_host::device::stream_recordings`]); a mismatch is an error.
fn run_events(a: &Args, data: &Path, dev: &mut Client, twin: &mut ImageSim) -> Result<()> {
    let test = Split::list(data, Part::Test).map_err(|e| anyhow!("{e}"))?;
    let t = Instant::now();
    let r = stream_recordings(dev, twin, &test, a.limit)?;
    let n = r.recordings;
    let pct = |k: usize| 100.0 * k as f64 / n.max(1) as f64;
    for i in &r.differ {
        eprintln!(
            "recording {i}: the device's run differs from the host's (class, counts, replays, steps or input spikes)"
        );
    }
    println!(
        "{n} recordings ({} events) in {:.1} s: device accuracy {:.1} %, host (fixed, same image) {:.1} %",
        r.events,
        t.elapsed().as_secs_f64(),
        pct(r.correct_device),
        pct(r.correct_host)
    );
    println!(
        "agreement with the host: classes {}/{n}, runs (per-neuron spike counts, replays, steps) {}/{n}; \
         mean {:.0} clock ticks per recording, {:.1} per event, {:.1} per step",
        r.same_class,
        r.same_run,
        r.ticks as f64 / n.max(1) as f64,
        r.ticks as f64 / r.events.max(1) as f64,
        r.ticks as f64 / r.steps.max(1) as f64
    );
    if !r.agrees() {
        bail!("the device disagrees with the host on {} recordings", r.differ.len());
    }
    Ok(())
}
