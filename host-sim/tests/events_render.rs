//! `host-sim events render` on a real N-MNIST recording: the GIF and the
//! PNG decoded and checked against the events themselves (a frame per time
//! bin, every sensor pixel in the colour of the polarities it had, the
//! three saccades' count images, the event-rate histogram's bars), not just
//! "a file appeared".
//!
//! Set `PLOTS_OUT=/some/dir` to keep the pictures for a look.

use std::path::{Path, PathBuf};
use std::process::Output;

use stdp_events::Event;
use stdp_plots::events::{
    count_color, fit, full_count, polarity_color, GifLayout, PanelsLayout, EVENT_BG_COLOR, EVENT_OFF_COLOR,
    EVENT_ON_COLOR,
};
use stdp_plots::RGBColor;

mod common;

/// The shared N-MNIST sample (tonic's test recording, 34 x 34, 311 ms).
fn sample() -> PathBuf {
    common::shared("events/nmnist_sample.bin")
}

/// A digit of the shared N-MNIST subset.
fn train_digit() -> PathBuf {
    common::shared("nmnist-sample/Train/0/00002.bin")
}

/// Where pictures go: `$PLOTS_OUT` if set, else a temporary directory.
struct OutDir {
    _tmp: Option<tempfile::TempDir>,
    path: PathBuf,
}

fn out_dir() -> OutDir {
    match std::env::var_os("PLOTS_OUT") {
        Some(dir) => {
            let path = PathBuf::from(dir);
            std::fs::create_dir_all(&path).unwrap();
            OutDir { _tmp: None, path }
        }
        None => {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().to_path_buf();
            OutDir { _tmp: Some(tmp), path }
        }
    }
}

fn render(file: &Path, out: &Path, extra: &[&str]) -> Output {
    common::host_sim_cmd(["events", "render"])
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// ON and OFF counts per pixel (34 x 34, row-major) of the events with `lo <= t < hi`.
fn counts(events: &[Event], lo: u64, hi: u64) -> (Vec<u32>, Vec<u32>) {
    let (mut on, mut off) = (vec![0u32; 34 * 34], vec![0u32; 34 * 34]);
    for e in events.iter().filter(|e| (lo..hi).contains(&e.t)) {
        let i = usize::from(e.y) * 34 + usize::from(e.x);
        if e.on {
            on[i] += 1;
        } else {
            off[i] += 1;
        }
    }
    (on, off)
}

/// An RGBA picture: a GIF frame or a PNG.
struct Picture {
    width: u32,
    channels: usize,
    data: Vec<u8>,
}

impl Picture {
    fn at(&self, x: u32, y: u32) -> RGBColor {
        let k = (y * self.width + x) as usize * self.channels;
        RGBColor(self.data[k], self.data[k + 1], self.data[k + 2])
    }
}

/// Every frame of a GIF as full-size RGBA, and the frames' delays (10 ms units).
fn read_gif(path: &Path) -> (u32, u32, Vec<Picture>, Vec<u16>) {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut dec = opts.read_info(std::fs::File::open(path).unwrap()).unwrap();
    let (w, h) = (u32::from(dec.width()), u32::from(dec.height()));
    let (mut frames, mut delays) = (Vec::new(), Vec::new());
    while let Some(f) = dec.read_next_frame().unwrap() {
        assert_eq!(
            (f.left, f.top, u32::from(f.width), u32::from(f.height)),
            (0, 0, w, h),
            "a full frame"
        );
        frames.push(Picture {
            width: w,
            channels: 4,
            data: f.buffer.to_vec(),
        });
        delays.push(f.delay);
    }
    (w, h, frames, delays)
}

fn read_png(path: &Path) -> (u32, u32, Picture) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut data = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut data).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    data.truncate(info.buffer_size());
    (
        info.width,
        info.height,
        Picture {
            width: info.width,
            channels,
            data,
        },
    )
}

/// The centre of sensor pixel (x, y) in a picture whose sensor image starts at `origin`.
fn centre(origin: (u32, u32), scale: u32, x: u32, y: u32) -> (u32, u32) {
    (origin.0 + x * scale + scale / 2, origin.1 + y * scale + scale / 2)
}

#[test]
fn gif_has_one_frame_per_10_ms_bin_and_each_pixel_in_its_polarity_colour() {
    let dir = out_dir();
    let out = dir.path.join("nmnist_sample.gif");
    common::assert_ok(&render(&sample(), &out, &[]), "render failed");
    let events = stdp_events::read_file(sample()).unwrap();
    let last = events.last().unwrap().t;
    // Bins of 10 ms from 0 (654 µs rounded down) to the last event, 311,175 µs.
    let bins = (last / 10_000 + 1) as usize;
    assert_eq!(bins, 32);

    let (w, h, frames, delays) = read_gif(&out);
    assert_eq!(frames.len(), bins, "one frame per 10 ms bin");
    // The default scale fits 34 pixels to about 480.
    let scale = fit(34, 34, 480).1;
    assert_eq!(scale, 14);
    let layout = GifLayout::new(34, 34, scale).unwrap();
    assert_eq!((w, h), layout.size);
    // Ten times slower than real time: 100 ms a frame.
    assert!(delays.iter().all(|&d| d == 10), "{delays:?}");

    let (mut on_pixels, mut off_pixels, mut both_pixels) = (0, 0, 0);
    for (k, frame) in frames.iter().enumerate() {
        let (on, off) = counts(&events, k as u64 * 10_000, (k as u64 + 1) * 10_000);
        for y in 0..34u32 {
            for x in 0..34u32 {
                let i = (y * 34 + x) as usize;
                let (px, py) = centre(layout.origin, scale, x, y);
                let want = polarity_color(on[i], off[i]);
                assert_eq!(
                    frame.at(px, py),
                    want,
                    "frame {k}, pixel ({x}, {y}): ON {} OFF {}",
                    on[i],
                    off[i]
                );
                // The whole block of the pixel, corners included.
                let (cx, cy) = (layout.origin.0 + x * scale, layout.origin.1 + y * scale);
                assert_eq!(frame.at(cx, cy), want);
                assert_eq!(frame.at(cx + scale - 1, cy + scale - 1), want);
                match (on[i] > 0, off[i] > 0) {
                    (true, false) => on_pixels += 1,
                    (false, true) => off_pixels += 1,
                    (true, true) => both_pixels += 1,
                    _ => {}
                }
            }
        }
    }
    // A real digit: many pixels of each kind over the recording.
    assert!(
        on_pixels > 500 && off_pixels > 500 && both_pixels > 10,
        "{on_pixels} {off_pixels} {both_pixels}"
    );
    // Frames differ (the saccades move the digit) and have text (greys) around the image.
    assert_ne!(frames[3].data, frames[4].data);
    let grey_text = (0..w)
        .flat_map(|x| (0..layout.origin.1).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let c = frames[0].at(x, y);
            c != EVENT_BG_COLOR && c.0 == c.1 && c.1 == c.2
        })
        .count();
    assert!(grey_text > 100, "a title above the image ({grey_text} text pixels)");
}

#[test]
fn gif_bin_and_scale_options_change_frames_and_size() {
    let dir = out_dir();
    let out = dir.path.join("nmnist_sample_50ms.gif");
    common::assert_ok(
        &render(
            &sample(),
            &out,
            &["--bin-ms", "50", "--scale", "4", "--delay-ms", "200"],
        ),
        "render failed",
    );
    let events = stdp_events::read_file(sample()).unwrap();
    let (w, h, frames, delays) = read_gif(&out);
    // 311,175 µs in bins of 50 ms: 7 frames.
    assert_eq!(frames.len(), 7);
    assert!(delays.iter().all(|&d| d == 20));
    let layout = GifLayout::new(34, 34, 4).unwrap();
    assert_eq!((w, h), layout.size);
    let (on, off) = counts(&events, 100_000, 150_000);
    for y in 0..34u32 {
        for x in 0..34u32 {
            let i = (y * 34 + x) as usize;
            let (px, py) = centre(layout.origin, 4, x, y);
            assert_eq!(frames[2].at(px, py), polarity_color(on[i], off[i]));
        }
    }
}

#[test]
fn png_shows_the_three_saccades_and_the_event_rate() {
    let dir = out_dir();
    for (file, name) in [(sample(), "nmnist_sample.png"), (train_digit(), "train_0_00002.png")] {
        let out = dir.path.join(name);
        common::assert_ok(&render(&file, &out, &[]), "render failed");
        assert!(out.with_extension("svg").exists(), "the SVG beside the PNG");
        let events = stdp_events::read_file(&file).unwrap();
        let scale = fit(34, 34, 320).1;
        let layout = PanelsLayout::new(34, 34, 3, scale).unwrap();
        let (w, h, png) = read_png(&out);
        assert_eq!((w, h), layout.size);

        // The saccades: 0-100, 100-200, 200-300 ms; one brightness scale for all three.
        let panels: Vec<_> = (0..3u64)
            .map(|k| counts(&events, k * 100_000, (k + 1) * 100_000))
            .collect();
        let full = full_count(panels.iter().flat_map(|(on, off)| on.iter().chain(off).copied()));
        let mut lit = 0;
        for (k, (on, off)) in panels.iter().enumerate() {
            assert!(
                on.iter().sum::<u32>() > 100 && off.iter().sum::<u32>() > 100,
                "saccade {k} has events"
            );
            for y in 0..34u32 {
                for x in 0..34u32 {
                    let i = (y * 34 + x) as usize;
                    let (px, py) = centre(layout.panels[k], scale, x, y);
                    let c = png.at(px, py);
                    assert_eq!(c, count_color(on[i], off[i], full), "{name} panel {k} pixel ({x}, {y})");
                    match (on[i] > 0, off[i] > 0) {
                        (false, false) => assert_eq!(c, EVENT_BG_COLOR),
                        // Only ON: amber; only OFF: blue.
                        (true, false) => assert!(c.0 > c.2 && c != EVENT_BG_COLOR, "{c:?}"),
                        (false, true) => assert!(c.2 > c.0 && c != EVENT_BG_COLOR, "{c:?}"),
                        (true, true) => {}
                    }
                    lit += usize::from(on[i] + off[i] > 0);
                }
            }
        }
        assert!(lit > 300, "{name}: the digit's strokes ({lit} pixels lit)");

        // The histogram: stacked bars in the ON and OFF colours inside its area.
        let (x0, y0, x1, y1) = layout.histogram;
        let (mut on_px, mut off_px, mut bar_columns) = (0, 0, 0);
        for x in x0..x1 {
            let mut column = false;
            for y in y0..y1 {
                let c = png.at(x, y);
                on_px += usize::from(c == EVENT_ON_COLOR);
                off_px += usize::from(c == EVENT_OFF_COLOR);
                column |= c == EVENT_ON_COLOR || c == EVENT_OFF_COLOR;
            }
            bar_columns += usize::from(column);
        }
        assert!(
            on_px > 2000 && off_px > 2000,
            "{name}: bars of both polarities ({on_px}, {off_px} pixels)"
        );
        // 32 bins of 10 ms across most of the plot's width.
        assert!(
            bar_columns > 300,
            "{name}: bars across the time axis ({bar_columns} columns)"
        );
    }
}

#[test]
fn png_panels_option_slices_the_span_equally() {
    let dir = out_dir();
    let out = dir.path.join("nmnist_sample_2x150.png");
    common::assert_ok(
        &render(&sample(), &out, &["--panels", "2", "--panel-ms", "150", "--scale", "5"]),
        "render failed",
    );
    let events = stdp_events::read_file(sample()).unwrap();
    let layout = PanelsLayout::new(34, 34, 2, 5).unwrap();
    let (w, h, png) = read_png(&out);
    assert_eq!((w, h), layout.size);
    let panels: Vec<_> = (0..2u64)
        .map(|k| counts(&events, k * 150_000, (k + 1) * 150_000))
        .collect();
    let full = full_count(panels.iter().flat_map(|(on, off)| on.iter().chain(off).copied()));
    for (k, (on, off)) in panels.iter().enumerate() {
        for y in 0..34u32 {
            for x in 0..34u32 {
                let i = (y * 34 + x) as usize;
                let (px, py) = centre(layout.panels[k], 5, x, y);
                assert_eq!(png.at(px, py), count_color(on[i], off[i], full));
            }
        }
    }
}

#[test]
fn bad_arguments_are_refused_with_a_reason_and_write_nothing() {
    let dir = out_dir();
    let cases: [(&str, &[&str], &str); 7] = [
        ("x.jpg", &[], ".gif"),
        ("x.gif", &["--bin-ms", "0"], "--bin-ms must be a positive number"),
        ("x.gif", &["--max-frames", "5"], "pass --bin-ms 63"),
        ("x.gif", &["--panels", "2"], "--panels does not apply to a .gif"),
        ("x.png", &["--bin-ms", "5"], "--bin-ms does not apply to a .png"),
        ("x.png", &["--panels", "13"], "--panels must be 1 to 12"),
        ("x.gif", &["--scale", "0"], "--scale must be at least 1"),
    ];
    for (out, extra, why) in cases {
        let path = dir.path.join(format!("bad_{out}"));
        let o = render(&sample(), &path, extra);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{out} {extra:?} should fail");
        assert!(err.contains(why), "{out} {extra:?}: {err}");
        assert!(!path.exists(), "{out} {extra:?} wrote a file");
    }
    let o = render(Path::new("no/such/file.bin"), &dir.path.join("y.gif"), &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/file.bin"));
}
