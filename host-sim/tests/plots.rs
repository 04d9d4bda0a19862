//! Figures: decoded and checked pixel by pixel, not just "a file appeared".
//!
//! Set `PLOTS_OUT=/some/dir` to keep the figures for a look; by default they
//! go to a temporary directory that is removed afterwards.

use std::path::{Path, PathBuf};

use stdp_plots::{self as plots, TileGrid, HISTOGRAM_BAR_COLOR, RASTER_SPIKE_COLOR, TILE_GAP_COLOR};

const SIDE: usize = 28;
const N_INPUTS: usize = SIDE * SIDE;

/// Where figures go: `$PLOTS_OUT` if set, else a temporary directory.
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

/// A decoded RGB(A) PNG.
struct Png {
    width: u32,
    height: u32,
    channels: usize,
    data: Vec<u8>,
}

impl Png {
    fn read(path: &Path) -> Png {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut data = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut data).unwrap();
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("unexpected PNG colour type {other:?}"),
        };
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        data.truncate(info.buffer_size());
        Png {
            width: info.width,
            height: info.height,
            channels,
            data,
        }
    }

    fn rgb(&self, x: u32, y: u32) -> (u8, u8, u8) {
        let k = (y as usize * self.width as usize + x as usize) * self.channels;
        (self.data[k], self.data[k + 1], self.data[k + 2])
    }

    /// Pixels in rows `y0..y1` darker than mid-grey (text, lines).
    fn dark_pixels_in_rows(&self, y0: u32, y1: u32) -> usize {
        (y0..y1)
            .flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let (r, g, b) = self.rgb(x, y);
                u32::from(r) + u32::from(g) + u32::from(b) < 3 * 100
            })
            .count()
    }
}

fn read_svg(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Deterministic pseudo-random numbers in [0, 1) (no seed crate needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Blob-like receptive fields: each neuron a noisy ring or stroke, roughly
/// what a trained network shows. Row-major by input: `w[i * n + j]`.
fn synthetic_fields(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Lcg(seed);
    let mut w = vec![0f32; N_INPUTS * n];
    for j in 0..n {
        let (cx, cy) = (11.0 + 6.0 * rng.next(), 11.0 + 6.0 * rng.next());
        let (rx, ry) = (3.0 + 4.0 * rng.next(), 5.0 + 4.0 * rng.next());
        let ring = rng.next() < 0.6;
        let slant = rng.next() - 0.5;
        for r in 0..SIDE {
            for c in 0..SIDE {
                let (x, y) = (c as f32 - cx, r as f32 - cy);
                let d = if ring {
                    (((x / rx).powi(2) + (y / ry).powi(2)).sqrt() - 1.0) * rx.min(ry)
                } else {
                    (x - slant * y).abs() * 0.8 + (y.abs() - 9.0).max(0.0) * 2.0
                };
                let v = (-d * d / 3.0).exp() * 0.9 + 0.05 * rng.next();
                w[(r * SIDE + c) * n + j] = v;
            }
        }
    }
    w
}

/// Neuron 0: a bright vertical bar (columns 13 and 14, weight 1); neuron 1:
/// a half-strength horizontal bar (rows 13 and 14, weight 0.5); the rest 0.
fn bar_fields(n: usize) -> Vec<f32> {
    let mut w = vec![0f32; N_INPUTS * n];
    for k in 0..SIDE {
        for c in [13, 14] {
            w[(k * SIDE + c) * n] = 1.0;
        }
        for r in [13, 14] {
            w[(r * SIDE + k) * n + 1] = 0.5;
        }
    }
    w
}

fn is_near(actual: (u8, u8, u8), expected: (u8, u8, u8), tolerance: u8) -> bool {
    actual.0.abs_diff(expected.0) <= tolerance
        && actual.1.abs_diff(expected.1) <= tolerance
        && actual.2.abs_diff(expected.2) <= tolerance
}

#[test]
fn receptive_field_tiles_show_each_neurons_weights_where_the_grid_says() {
    let out = out_dir();
    let n = 16;
    let stem = out.path.join("rf_bars");
    plots::receptive_fields(&bar_fields(n), N_INPUTS, n, None, &stem).unwrap();
    let png = Png::read(&stem.with_extension("png"));
    let grid = TileGrid::new(N_INPUTS, n).unwrap();
    assert_eq!((png.width, png.height), grid.image_px());
    let s = grid.scale;
    // Centre of input pixel (row, col) of neuron j's tile.
    let at = |j: usize, row: u32, col: u32| {
        let (x0, y0, _, _) = grid.tile_rect(j);
        png.rgb(x0 + col * s + s / 2, y0 + row * s + s / 2)
    };

    // Neuron 0: the bar is the maximum weight, black in hot_r; elsewhere 0, white.
    for row in [2, 14, 25] {
        for col in [13, 14] {
            assert!(
                is_near(at(0, row, col), (0, 0, 0), 2),
                "bar pixel ({row}, {col}): {:?}",
                at(0, row, col)
            );
        }
        for col in [5, 12, 15, 22] {
            assert!(
                is_near(at(0, row, col), (255, 255, 255), 2),
                "background ({row}, {col})"
            );
        }
    }
    // Neuron 1: weight 0.5 of a max of 1 is hot_r's midpoint, (255, 85, 0).
    assert!(is_near(at(1, 13, 3), (255, 85, 0), 2), "{:?}", at(1, 13, 3));
    assert!(is_near(at(1, 20, 3), (255, 255, 255), 2));
    // Neurons with zero weights are all white.
    assert!(is_near(at(15, 14, 14), (255, 255, 255), 2));
    // The gap between tiles 0 and 1 has the gap colour.
    let (_, y0, x1, _) = grid.tile_rect(0);
    let gap = TILE_GAP_COLOR;
    assert!(is_near(png.rgb(x1, y0 + 5), (gap.0, gap.1, gap.2), 0));
    // The title is rendered (the embedded font works).
    assert!(png.dark_pixels_in_rows(0, grid.origin.1) > 200);

    let svg = read_svg(&stem.with_extension("svg"));
    assert!(svg.contains("Receptive fields of 16 excitatory neurons"));
    assert!(
        svg.contains("href=\"data:image/png;base64,"),
        "tiles are embedded as one PNG"
    );
}

#[test]
fn receptive_fields_write_class_labels_on_the_tiles() {
    let out = out_dir();
    let n = 100;
    let mut labels: Vec<u8> = (0..n).map(|j| (j % 10) as u8).collect();
    labels[99] = 255; // unassigned
    let stem = out.path.join("rf_100_labelled");
    let weights = synthetic_fields(n, 1);
    plots::receptive_fields(&weights, N_INPUTS, n, Some(&labels), &stem).unwrap();
    let svg = read_svg(&stem.with_extension("svg"));
    let label_texts = |digit: &str| svg.matches(&format!(">\n{digit}\n</text>")).count();
    for d in 0..10 {
        let expected = if d == 9 { 9 } else { 10 };
        assert!(
            label_texts(&d.to_string()) >= expected,
            "label {d} written on its tiles"
        );
    }
    assert_eq!(label_texts("?"), 1);

    // The label pixels land in the tile's top-left corner: the same tile
    // drawn without labels differs there and only there.
    let bare = out.path.join("rf_100_bare");
    plots::receptive_fields(&weights, N_INPUTS, n, None, &bare).unwrap();
    let (a, b) = (
        Png::read(&stem.with_extension("png")),
        Png::read(&bare.with_extension("png")),
    );
    let grid = TileGrid::new(N_INPUTS, n).unwrap();
    let (x0, y0, x1, y1) = grid.tile_rect(7);
    let corner = grid.tile_px().1 / 2;
    let mut in_corner = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            if a.rgb(x, y) != b.rgb(x, y) {
                assert!(
                    x < x0 + corner && y < y0 + corner,
                    "label pixel outside the corner at ({x}, {y})"
                );
                in_corner += 1;
            }
        }
    }
    assert!(in_corner > 10, "label drawn: {in_corner} pixels changed");
}

#[test]
fn receptive_fields_stay_legible_at_100_400_and_1600_neurons() {
    let out = out_dir();
    for n in [100, 400, 1600] {
        let stem = out.path.join(format!("rf_{n}"));
        let labels: Vec<u8> = (0..n).map(|j| (j * 7 % 10) as u8).collect();
        plots::receptive_fields(&synthetic_fields(n, n as u64), N_INPUTS, n, Some(&labels), &stem).unwrap();
        let png = Png::read(&stem.with_extension("png"));
        let grid = TileGrid::new(N_INPUTS, n).unwrap();
        assert_eq!((png.width, png.height), grid.image_px());
        assert!(grid.tile_px().0 >= 28, "n = {n}: every weight gets at least one pixel");
        assert!((1000..1500).contains(&png.width), "n = {n}: width {}", png.width);
        // The last tile is drawn too: its centre is not the gap colour.
        let (x0, y0, x1, y1) = grid.tile_rect(n - 1);
        let gap = TILE_GAP_COLOR;
        assert_ne!(png.rgb((x0 + x1) / 2, (y0 + y1) / 2), (gap.0, gap.1, gap.2));
    }
}

#[test]
fn receptive_fields_reject_mismatched_sizes() {
    let out = out_dir();
    let stem = out.path.join("bad");
    assert!(plots::receptive_fields(&[0.0; 784 * 3], 784, 4, None, &stem).is_err());
    assert!(plots::receptive_fields(&[0.0; 780 * 4], 780, 4, None, &stem).is_err());
    assert!(plots::receptive_fields(&[0.0; 784 * 4], 784, 4, Some(&[1, 2]), &stem).is_err());
    assert!(!stem.with_extension("png").exists());
}

#[test]
fn confusion_matrix_titles_the_accuracy_and_writes_every_count() {
    let out = out_dir();
    let mut counts = [[0u32; 10]; 10];
    for (t, row) in counts.iter_mut().enumerate() {
        row[t] = 900 + t as u32;
        row[(t + 3) % 10] = 40 + t as u32;
        row[(t + 7) % 10] = 5;
    }
    let total: u32 = counts.iter().flatten().sum();
    let correct: u32 = (0..10).map(|k| counts[k][k]).sum();
    let stem = out.path.join("confusion");
    plots::confusion_matrix(&counts, &stem).unwrap();
    let svg = read_svg(&stem.with_extension("svg"));
    let accuracy = format!(
        "accuracy {:.2} % ({correct} / {total})",
        100.0 * f64::from(correct) / f64::from(total)
    );
    assert!(svg.contains(&accuracy), "title has {accuracy}");
    for label in ["predicted", "true"] {
        assert!(svg.contains(&format!(">\n{label}\n</text>")), "axis {label}");
    }
    for t in 0..10u32 {
        for value in [900 + t, 40 + t] {
            assert!(svg.contains(&format!(">\n{value}\n</text>")), "cell {value}");
        }
    }
    let png = Png::read(&stem.with_extension("png"));
    assert_eq!((png.width, png.height), (760, 760));
    // Diagonal cells are dark blue: plenty of strongly blue pixels.
    let blue = (0..png.height)
        .flat_map(|y| (0..png.width).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let (r, g, b) = png.rgb(x, y);
            b > 90 && r < 30 && g < 70
        })
        .count();
    assert!(blue > 10 * 2000, "ten dark diagonal cells, {blue} dark-blue pixels");
}

#[test]
fn curves_draw_each_series_with_a_legend_and_axis_labels() {
    let out = out_dir();
    let acc: Vec<(f64, f64)> = (1..=60)
        .map(|k| (k as f64 * 1000.0, 90.0 - 70.0 * (-(k as f64) / 12.0).exp()))
        .collect();
    let chance: Vec<(f64, f64)> = vec![(1000.0, 10.0), (60000.0, 10.0)];
    let stem = out.path.join("accuracy");
    let series: [(&str, &[(f64, f64)]); 2] = [("running accuracy", &acc), ("chance", &chance)];
    plots::curves("Training accuracy", "examples seen", &series, "accuracy (%)", &stem).unwrap();
    let svg = read_svg(&stem.with_extension("svg"));
    for text in [
        "Training accuracy",
        "examples seen",
        "accuracy (%)",
        "running accuracy",
        "chance",
    ] {
        assert!(svg.contains(&format!(">\n{text}\n</text>")), "missing text {text}");
    }
    // Both series are drawn in their tab10 colours.
    assert!(svg.contains("stroke=\"#1F77B4\""));
    assert!(svg.contains("stroke=\"#FF7F0E\""));
    let png = Png::read(&stem.with_extension("png"));
    assert_eq!((png.width, png.height), (900, 560));
    assert!(png.dark_pixels_in_rows(0, 45) > 150, "title text is rendered");
    let blue = (0..png.height)
        .flat_map(|y| (0..png.width).map(move |x| (x, y)))
        .filter(|&(x, y)| is_near(png.rgb(x, y), (31, 119, 180), 30))
        .count();
    assert!(blue > 500, "the first series is drawn ({blue} blue pixels)");
}

#[test]
fn histogram_draws_one_bar_per_nonempty_bin() {
    let out = out_dir();
    // 30 values near 20 mV, 10 near 24 mV: with 8 bins over [19.9, 24.1], two bars.
    let mut values = vec![19.9f32; 30];
    values.extend([24.1f32; 10]);
    values.push(f32::NAN);
    let stem = out.path.join("theta");
    plots::histogram(&values, 8, "Adaptive thresholds", "theta (mV)", &stem).unwrap();
    let svg = read_svg(&stem.with_extension("svg"));
    let bar = HISTOGRAM_BAR_COLOR;
    let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", bar.0, bar.1, bar.2);
    assert_eq!(svg.matches(&fill).count(), 2);
    assert!(svg.contains("Adaptive thresholds"));
    assert!(svg.contains("theta (mV)"));
    assert!(svg.contains("n = 40,"), "the NaN is skipped");
    assert_eq!(
        Png::read(&stem.with_extension("png")).width,
        800,
        "the PNG is written alongside"
    );

    // A smooth distribution, to look at.
    let mut rng = Lcg(7);
    let theta: Vec<f32> = (0..400)
        .map(|_| 20.0 + (0..6).map(|_| rng.next()).sum::<f32>() * 0.4)
        .collect();
    plots::histogram(
        &theta,
        30,
        "theta after training",
        "theta (mV)",
        &out.path.join("theta_smooth"),
    )
    .unwrap();
}

#[test]
fn raster_draws_one_mark_per_spike() {
    let out = out_dir();
    let mut rng = Lcg(3);
    let mut spikes = Vec::new();
    for i in 0..60u32 {
        let rate = 0.002 + 0.03 * (i as f32 / 60.0); // spikes per 0.5 ms step
        for step in 0..700 {
            if rng.next() < rate {
                spikes.push((step as f64 * 0.5, i));
            }
        }
    }
    let stem = out.path.join("raster");
    plots::raster(&spikes, 60, 350.0, "Input spikes", &stem).unwrap();
    let svg = read_svg(&stem.with_extension("svg"));
    let c = RASTER_SPIKE_COLOR;
    let color = format!("\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
    assert_eq!(svg.matches(&color).count(), spikes.len());
    assert!(svg.contains(&format!("Input spikes ({} spikes)", spikes.len())));
    assert!(svg.contains("time (ms)"));

    // Many rows: dots instead of ticks, still one mark per spike.
    let dense: Vec<(f64, u32)> = (0..2000)
        .map(|k| (k as f64 * 0.17 % 350.0, (k * 37 % 1600) as u32))
        .collect();
    let stem = out.path.join("raster_dense");
    plots::raster(&dense, 1600, 350.0, "Excitatory spikes", &stem).unwrap();
    assert_eq!(
        read_svg(&stem.with_extension("svg")).matches(&color).count(),
        dense.len()
    );

    assert!(plots::raster(&[(1.0, 60)], 60, 350.0, "bad", &out.path.join("bad")).is_err());
}

#[test]
fn encoding_gif_has_one_frame_per_window_and_lights_the_spiking_pixels() {
    let out = out_dir();
    // A "1": a vertical stroke.
    let mut pixels = [0u8; N_INPUTS];
    for r in 4..24 {
        for c in 13..16 {
            pixels[r * SIDE + c] = 255;
        }
    }
    // Frame 0: every input spikes; frames 1..=6: none; then Poisson spikes on
    // the stroke at the model's rate, pixel / 4 Hz (63.75 Hz at 255): in a
    // 10 ms window an input spikes with probability 1 - exp(-rate * 10 ms).
    let mut frames: Vec<Vec<u16>> = vec![(0..N_INPUTS as u16).collect()];
    frames.extend(std::iter::repeat_n(Vec::new(), 6));
    let mut rng = Lcg(11);
    for _ in 0..28 {
        let frame = (0..N_INPUTS as u16)
            .filter(|&i| {
                let rate_hz = f32::from(pixels[usize::from(i)]) / 4.0;
                rng.next() < 1.0 - (-rate_hz * 0.010).exp()
            })
            .collect();
        frames.push(frame);
    }
    let path = out.path.join("encoding.gif");
    plots::encoding_gif(&pixels, &frames, 10.0, &path).unwrap();

    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(std::fs::File::open(&path).unwrap()).unwrap();
    let (w, h) = (u32::from(decoder.width()), u32::from(decoder.height()));
    let mut lit = Vec::new();
    let mut delays = Vec::new();
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        assert_eq!((u32::from(frame.width), u32::from(frame.height)), (w, h));
        delays.push(frame.delay);
        // Pixels in the spike colour (yellow), allowing for palette quantisation.
        let c = plots::GIF_SPIKE_COLOR;
        let count = frame
            .buffer
            .chunks_exact(4)
            .filter(|p| is_near((p[0], p[1], p[2]), (c.0, c.1, c.2), 40))
            .count();
        lit.push(count);
    }
    assert_eq!(lit.len(), frames.len(), "one GIF frame per window");
    assert!(
        delays.iter().all(|&d| d == 10),
        "10 ms windows play at 100 ms: {delays:?}"
    );
    // Frame 0 lights all 784 inputs (each drawn as a 10x10 block).
    assert!(lit[0] >= 784 * 90, "frame 0: {} lit pixels", lit[0]);
    // Afterglow dims at once: frame 1 has no full-brightness pixel, and by
    // frame 6 the glow is gone.
    assert!(lit[1] < 100, "frame 1: {}", lit[1]);
    assert_eq!(lit[6], 0);
    // The stroke's spikes light some pixels, never more than the stroke holds.
    let stroke_px = 20 * 3 * 100;
    assert!(lit[7..].iter().any(|&c| c > 0));
    assert!(lit[7..].iter().all(|&c| c <= stroke_px));

    assert!(plots::encoding_gif(&pixels, &[], 10.0, &path).is_err());
    assert!(plots::encoding_gif(&pixels, &[vec![784]], 10.0, &path).is_err());
}

#[test]
fn event_receptive_fields_draw_each_tile_as_an_on_and_an_off_panel() {
    use stdp_plots::FieldShape;
    let out = out_dir();
    // N-MNIST's layout: 34 x 34 cells, input (y * 34 + x) * 2 + p, p = 1 ON.
    let shape = FieldShape {
        width: 34,
        height: 34,
        panels: 2,
    };
    let n = 4;
    let mut w = vec![0.0f32; shape.inputs() * n];
    for y in 0..34 {
        // Neuron 0: ON weights in column 10 only; neuron 1: OFF in column 20 only.
        w[((y * 34 + 10) * 2 + 1) * n] = 1.0;
        w[((y * 34 + 20) * 2) * n + 1] = 1.0;
    }
    let stem = out.path.join("rf_events");
    plots::receptive_fields_shaped(&w, shape, n, None, &stem).unwrap();
    let png = Png::read(&stem.with_extension("png"));
    let grid = TileGrid::shaped(shape, n).unwrap();
    assert_eq!((png.width, png.height), grid.image_px());
    let s = grid.scale;
    let at = |j: usize, panel: u32, row: u32, col: u32| {
        let (x0, y0, _, _) = grid.tile_rect(j);
        let (px, py) = grid.panel_origin((x0, y0), panel);
        png.rgb(px + col * s + s / 2, py + row * s + s / 2)
    };
    let (black, white) = ((0, 0, 0), (255, 255, 255));
    // ON is the left panel, OFF the right one.
    assert!(is_near(at(0, 0, 17, 10), black, 2), "{:?}", at(0, 0, 17, 10));
    assert!(is_near(at(0, 1, 17, 10), white, 2), "{:?}", at(0, 1, 17, 10));
    assert!(is_near(at(1, 1, 17, 20), black, 2), "{:?}", at(1, 1, 17, 20));
    assert!(is_near(at(1, 0, 17, 20), white, 2), "{:?}", at(1, 0, 17, 20));
    // A tile is two panels and a one-input gap wide.
    assert_eq!(grid.tile_px(), ((2 * 34 + 1) * s, 34 * s));
    let svg = read_svg(&stem.with_extension("svg"));
    assert!(svg.contains("each tile: ON | OFF"));
}
