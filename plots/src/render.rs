//! The embedded font, the bitmap backend that places glyphs correctly,
//! and the output plumbing: one [`Figure`], written as PNG and SVG.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use anyhow::{ensure, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
// BackendStyle is named by path: imported, its `stroke_width` would clash with `Color::stroke_width`.
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Font family used for all text (registered from [`FONT_BYTES`]).
const FAMILY: &str = "sans-serif";

/// Registers the embedded font once per process. plotters' `ab_glyph`
/// backend knows no font until one is registered, and then fails on any text.
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        // Register the generic families too, in case a plotters default asks for them.
        ["sans-serif", "serif", "monospace"]
            .iter()
            .all(|family| register_font(family, FontStyle::Normal, FONT_BYTES).is_ok())
    });
    ensure!(ok, "the embedded DejaVu Sans font could not be parsed");
    Ok(())
}

pub(crate) fn font<'a>(size: f64) -> TextStyle<'a> {
    TextStyle::from((FAMILY, size).into_font()).color(&BLACK)
}

pub(crate) fn anchored(style: TextStyle<'_>, h: HPos, v: VPos) -> TextStyle<'_> {
    style.pos(Pos::new(h, v))
}

// ---------------------------------------------------------------------------
// Bitmap text

/// The embedded font for laying out bitmap text.
pub(crate) fn glyph_font() -> Result<&'static FontRef<'static>, ab_glyph::InvalidFont> {
    static FONT: OnceLock<Result<FontRef<'static>, ab_glyph::InvalidFont>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES))
        .as_ref()
        .map_err(|e| *e)
}

/// plotters' bitmap backend with its own text rendering. plotters 0.3.7's
/// `ab_glyph` path places each glyph at the pen position without its left
/// side bearing, so letters bunch up and drift ("tim e"); this draws the
/// glyphs where the font says, with kerning and anti-aliasing. Everything
/// else is passed through.
pub(crate) struct Bitmap<'a>(pub(crate) BitMapBackend<'a>);

pub(crate) type BitmapError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

impl DrawingBackend for Bitmap<'_> {
    type ErrorType = BitmapError;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: plotters_backend::BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: plotters_backend::BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: plotters_backend::BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.blit_bitmap(pos, size, src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let font = glyph_font().map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        // Same pixel scale as plotters' own layout estimate, so charts reserve the right room.
        let font = font.as_scaled(PxScale::from(style.size() as f32));
        let width = {
            let mut pen = 0.0f32;
            let mut prev = None;
            for c in text.chars() {
                let id = font.glyph_id(c);
                if let Some(p) = prev {
                    pen += font.kern(p, id);
                }
                pen += font.h_advance(id);
                prev = Some(id);
            }
            pen
        };
        let height = font.ascent() - font.descent();
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        let mut pen = dx;
        let mut prev = None;
        let mut coverage = Vec::new();
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(font.scale(), ab_glyph::point(pen, dy + font.ascent()));
            pen += font.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            coverage.clear();
            outline.draw(|x, y, a| coverage.push((x, y, a)));
            for &(x, y, a) in &coverage {
                if a < 1.0 / 255.0 {
                    continue;
                }
                let (x, y) = transform.transform(bounds.min.x as i32 + x as i32, bounds.min.y as i32 + y as i32);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    let alpha = color.alpha * f64::from(a.min(1.0));
                    self.draw_pixel((x, y), BackendColor { alpha, rgb: color.rgb })?;
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Output plumbing

/// A figure that can be drawn on any plotters backend (bitmap and SVG).
pub(crate) trait Figure {
    /// Canvas size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws on a white canvas of [`Figure::size`].
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// `stem` + `.png` and `stem` + `.svg` (a `.png`/`.svg` already on the stem is dropped).
pub(crate) fn output_paths(stem: &Path) -> (PathBuf, PathBuf) {
    let base = match stem.extension().and_then(|e| e.to_str()) {
        Some("png" | "svg") => stem.with_extension(""),
        _ => stem.to_path_buf(),
    };
    let with = |ext: &str| {
        let mut s = base.clone().into_os_string();
        s.push(".");
        s.push(ext);
        PathBuf::from(s)
    };
    (with("png"), with("svg"))
}

pub(crate) fn create_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

pub(crate) fn save(fig: &impl Figure, stem: &Path) -> Result<()> {
    ensure_font()?;
    let (png, svg) = output_paths(stem);
    create_parent(&png)?;
    {
        let root = Bitmap(BitMapBackend::new(&png, fig.size())).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root)?;
        root.present().with_context(|| format!("writing {}", png.display()))?;
    }
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, fig.size()).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root)?;
        root.present()?;
    }
    // plotters-svg labels embedded bitmaps `data:png`, which is not a MIME
    // type; and a raster of weights must stay blocky when the viewer zooms.
    let text = text.replace(
        "href=\"data:png;base64,",
        "style=\"image-rendering:pixelated\" href=\"data:image/png;base64,",
    );
    std::fs::write(&svg, text).with_context(|| format!("writing {}", svg.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_paths_append_extensions_to_the_stem() {
        let (png, svg) = output_paths(Path::new("out/run.v2/rf"));
        assert_eq!(png, Path::new("out/run.v2/rf.png"));
        assert_eq!(svg, Path::new("out/run.v2/rf.svg"));
        let (png, _) = output_paths(Path::new("out/rf.n400"));
        assert_eq!(png, Path::new("out/rf.n400.png"));
        let (png, svg) = output_paths(Path::new("out/rf.png"));
        assert_eq!(
            (png.as_path(), svg.as_path()),
            (Path::new("out/rf.png"), Path::new("out/rf.svg"))
        );
    }
}
