//! What every chart shares: the [`Chart`] trait, rendering to PNG and SVG, the palette, fonts
//! and a legend drawn below the plot.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use plotters::coord::{CoordTranslate, Shift};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::error::ReportError;
use super::font::FAMILY;
use super::text::CrispText;

/// A chart that can be drawn on any Plotters backend.
pub(crate) trait Chart {
    /// Size in pixels (PNG) or user units (SVG).
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Turns a Plotters error into the message of a chart error.
pub(crate) fn de<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draws `chart` to `<stem>.png` and, with `svg`, to `<stem>.svg`; returns the PNG path.
pub(crate) fn render<C: Chart>(chart: &C, stem: &Path, svg: bool) -> Result<PathBuf, ReportError> {
    let (w, h) = chart.size();
    let png = stem.with_extension("png");
    let fail = |path: &Path, message: String| ReportError::Chart { path: path.to_path_buf(), message };
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let backend = CrispText { inner: BitMapBackend::with_buffer(&mut buf, (w, h)) };
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&png, de(e)))?;
        chart.draw(&root).map_err(|m| fail(&png, m))?;
        root.present().map_err(|e| fail(&png, de(e)))?;
    }
    let file = File::create(&png).map_err(|e| ReportError::write(&png, e))?;
    PngEncoder::new_with_quality(BufWriter::new(file), CompressionType::Fast, FilterType::Sub)
        .write_image(&buf, w, h, ExtendedColorType::Rgb8)
        .map_err(|e| fail(&png, de(e)))?;
    if svg {
        let path = stem.with_extension("svg");
        let mut text = String::new();
        {
            let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| fail(&path, de(e)))?;
            chart.draw(&root).map_err(|m| fail(&path, m))?;
            root.present().map_err(|e| fail(&path, de(e)))?;
        }
        std::fs::write(&path, text).map_err(|e| ReportError::write(&path, e))?;
    }
    Ok(png)
}

/// A colour-blind-friendly categorical palette (Tableau 10).
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

pub(crate) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub(crate) const GRID: RGBColor = RGBColor(0xe6, 0xe6, 0xe6);
/// Invisible: the minor mesh lines are not drawn.
pub(crate) const NO_LINE: RGBAColor = RGBAColor(0, 0, 0, 0.0);

/// An axis label without needless decimals: 20, 2.5, 0.125.
pub(crate) fn tick(v: &f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The top of an accuracy axis (percent): the data's maximum plus headroom, in steps of 10.
pub(crate) fn accuracy_top(max: f64) -> f64 {
    if !max.is_finite() {
        return 100.0;
    }
    (((max + 8.0) / 10.0).ceil() * 10.0).clamp(10.0, 100.0)
}

pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&INK)
}

pub(crate) fn bold(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().style(FontStyle::Bold).color(&INK)
}

/// Draws a centred title (and an optional grey subtitle) at the top of `root`; returns the
/// area below it.
pub(crate) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<DB, Shift>, String> {
    let (w, _) = root.dim_in_pixel();
    let top = if subtitle.is_empty() { 44 } else { 66 };
    let (head, body) = root.split_vertically(top);
    let centre = Pos::new(HPos::Center, VPos::Top);
    head.draw_text(title, &bold(22).pos(centre), (w as i32 / 2, 12)).map_err(de)?;
    if !subtitle.is_empty() {
        let grey = font(14).color(&RGBColor(0x66, 0x66, 0x66)).pos(centre);
        head.draw_text(subtitle, &grey, (w as i32 / 2, 42)).map_err(de)?;
    }
    Ok(body)
}

/// The plot area and the legend area of a chart.
pub(crate) type PlotAndLegend<DB> = (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>);

/// A titled chart with `legend` at the bottom: returns the plot area and the legend area.
pub(crate) fn titled_with_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
    legend: &[LegendItem],
) -> Result<PlotAndLegend<DB>, String> {
    let body = titled(root, title, subtitle)?;
    let (w, h) = body.dim_in_pixel();
    Ok(body.split_vertically(h - legend_height(legend, w)))
}

/// How a legend entry is marked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mark {
    Line(u32),
    Dashed,
    Box,
    Circle,
    Triangle,
    Square,
    Diamond,
    InvTriangle,
    Pentagon,
}

/// One legend entry.
#[derive(Debug, Clone)]
pub(crate) struct LegendItem {
    pub color: RGBAColor,
    pub mark: Mark,
    pub text: String,
}

impl LegendItem {
    pub(crate) fn new(color: impl Color, mark: Mark, text: impl Into<String>) -> LegendItem {
        LegendItem { color: color.to_rgba(), mark, text: text.into() }
    }
}

/// One legend entry per name, coloured in palette order (as the series are drawn), marked alike.
pub(crate) fn palette_legend<S: Into<String>>(names: impl IntoIterator<Item = S>, mark: Mark) -> Vec<LegendItem> {
    names.into_iter().enumerate().map(|(i, n)| LegendItem::new(PALETTE[i % PALETTE.len()], mark, n)).collect()
}

/// Rows a legend of `items` needs in `width` pixels.
pub(crate) fn legend_rows(items: &[LegendItem], width: u32) -> u32 {
    layout(items, width).last().map(|(_, row)| row + 1).unwrap_or(0)
}

/// Height in pixels of a legend of `items` in `width` pixels.
pub(crate) fn legend_height(items: &[LegendItem], width: u32) -> u32 {
    legend_rows(items, width) * 24 + 12
}

fn item_width(item: &LegendItem) -> u32 {
    // About 0.58 em per character at 14 px for DejaVu Sans.
    40 + (item.text.chars().count() as f64 * 8.2) as u32 + 22
}

fn layout(items: &[LegendItem], width: u32) -> Vec<(u32, u32)> {
    let (mut x, mut row) = (20u32, 0u32);
    let mut out = Vec::new();
    for item in items {
        let w = item_width(item);
        if x > 20 && x + w > width.saturating_sub(20) {
            x = 20;
            row += 1;
        }
        out.push((x, row));
        x += w;
    }
    out
}

/// Draws a legend of `items`, wrapped to the area's width.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
) -> Result<(), String> {
    let (w, _) = area.dim_in_pixel();
    for (item, (x, row)) in items.iter().zip(layout(items, w)) {
        let (x, y) = (x as i32, 8 + row as i32 * 24 + 8);
        let c = item.color;
        match item.mark {
            Mark::Line(width) => {
                area.draw(&PathElement::new(vec![(x, y), (x + 30, y)], c.stroke_width(width))).map_err(de)?
            }
            Mark::Dashed => {
                area.draw(&DashedPathElement::new(vec![(x, y), (x + 30, y)], 5, 4, c.stroke_width(2))).map_err(de)?
            }
            Mark::Box => area.draw(&Rectangle::new([(x + 6, y - 7), (x + 24, y + 7)], c.filled())).map_err(de)?,
            Mark::Circle => area.draw(&Circle::new((x + 15, y), 6, c.filled())).map_err(de)?,
            shape => {
                let pts: Vec<(i32, i32)> =
                    outline(shape, 6).into_iter().map(|(dx, dy)| (x + 15 + dx, y + dy)).collect();
                area.draw(&Polygon::new(pts, c.filled())).map_err(de)?
            }
        }
        let style = font(14).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw_text(&item.text, &style, (x + 38, y)).map_err(de)?;
    }
    Ok(())
}

/// Marker shapes, cycled per category.
pub(crate) const SHAPES: [Mark; 6] =
    [Mark::Circle, Mark::Triangle, Mark::Square, Mark::Diamond, Mark::InvTriangle, Mark::Pentagon];

/// The corners of a polygon marker of radius `s` around (0, 0) (empty for a circle).
pub(crate) fn outline(mark: Mark, s: i32) -> Vec<(i32, i32)> {
    let polar = |n: usize, start: f64, r: f64| -> Vec<(i32, i32)> {
        (0..n)
            .map(|i| {
                let a = start + i as f64 * std::f64::consts::TAU / n as f64;
                ((r * a.cos()).round() as i32, (r * a.sin()).round() as i32)
            })
            .collect()
    };
    let r = s as f64;
    match mark {
        Mark::Triangle => polar(3, -std::f64::consts::FRAC_PI_2, r * 1.3),
        Mark::InvTriangle => polar(3, std::f64::consts::FRAC_PI_2, r * 1.3),
        Mark::Square => vec![(-s, -s), (s, -s), (s, s), (-s, s)],
        Mark::Diamond => polar(4, 0.0, r * 1.35),
        Mark::Pentagon => polar(5, -std::f64::consts::FRAC_PI_2, r * 1.2),
        _ => Vec::new(),
    }
}

/// Draws the marker `mark` centred on the chart point `at`, `size` pixels in radius: filled
/// in `fill`, outlined in `ink`.
pub(crate) fn marker<DB: DrawingBackend, CT: CoordTranslate>(
    chart: &mut ChartContext<'_, DB, CT>,
    mark: Mark,
    at: CT::From,
    size: i32,
    fill: RGBColor,
    ink: RGBColor,
) -> Result<(), String>
where
    CT::From: Clone + 'static,
{
    let pts = outline(mark, size);
    if pts.is_empty() {
        chart.draw_series([EmptyElement::at(at.clone()) + Circle::new((0, 0), size, fill.filled())]).map_err(de)?;
        chart.draw_series([EmptyElement::at(at) + Circle::new((0, 0), size, ink.stroke_width(1))]).map_err(de)?;
        return Ok(());
    }
    let mut closed = pts.clone();
    closed.push(pts[0]);
    chart.draw_series([EmptyElement::at(at.clone()) + Polygon::new(pts, fill.filled())]).map_err(de)?;
    chart.draw_series([EmptyElement::at(at) + PathElement::new(closed, ink.stroke_width(1))]).map_err(de)?;
    Ok(())
}

/// Draws a vertical error bar from `lo` to `hi` at `x` with caps `cap` pixels wide each side.
pub(crate) fn error_bar<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, DB, CT>,
    x: f64,
    (lo, hi): (f64, f64),
    style: ShapeStyle,
    cap: i32,
) -> Result<(), String> {
    chart.draw_series([PathElement::new(vec![(x, lo), (x, hi)], style)]).map_err(de)?;
    for y in [lo, hi] {
        chart
            .draw_series([EmptyElement::at((x, y)) + PathElement::new(vec![(-cap, 0), (cap, 0)], style)])
            .map_err(de)?;
    }
    Ok(())
}

/// A tidy axis range around `lo..hi` (never empty).
pub(crate) fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if (hi - lo).abs() < 1e-12 {
        let d = if lo.abs() > 1e-12 { lo.abs() * 0.1 } else { 1.0 };
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * frac;
    (lo - d, hi + d)
}

/// A file-name-safe slug: lowercase ASCII letters, digits and `-`.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let t = out.trim_matches('-');
    if t.is_empty() {
        "x".into()
    } else {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_tops() {
        assert_eq!(tick(&20.0), "20");
        assert_eq!(tick(&2.5), "2.5");
        assert_eq!(tick(&0.0), "0");
        assert_eq!(accuracy_top(31.0), 40.0);
        assert_eq!(accuracy_top(97.0), 100.0);
        assert_eq!(accuracy_top(f64::NAN), 100.0);
    }

    #[test]
    fn slugs_are_safe() {
        assert_eq!(slug("Deep-Emotion on CK+ (lr=0.01)"), "deep-emotion-on-ck-lr-0-01");
        assert_eq!(slug("++"), "x");
    }

    #[test]
    fn padded_ranges_are_never_empty() {
        assert_eq!(padded(2.0, 2.0, 0.1), (1.8, 2.2));
        assert_eq!(padded(0.0, 0.0, 0.1), (-1.0, 1.0));
        assert_eq!(padded(f64::NAN, 1.0, 0.1), (0.0, 1.0));
    }

    #[test]
    fn legend_wraps_rows() {
        let items: Vec<LegendItem> =
            (0..6).map(|i| LegendItem::new(PALETTE[i], Mark::Box, format!("a fairly long label {i}"))).collect();
        assert_eq!(legend_rows(&items, 2000), 1);
        assert!(legend_rows(&items, 500) >= 3);
    }
}
