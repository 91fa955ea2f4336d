//! Accuracy against a cost (trainable parameters, latency) on a log x axis: one point per
//! model variant and data set, with std error bars; colour = model, marker = data set.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{
    accuracy_top, de, draw_legend, error_bar, font, legend_height, marker, tick, titled_with_legend, Chart, LegendItem,
    Mark, GRID, INK, NO_LINE, PALETTE, SHAPES,
};

/// One point: a model variant's mean accuracy (percent) on one data set against its cost.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScatterPoint {
    pub x: f64,
    pub y: f64,
    pub y_std: Option<f64>,
    /// Index into [`Scatter::colors`].
    pub color: usize,
    /// Index into [`Scatter::shapes`].
    pub shape: usize,
    pub label: String,
}

/// The scatter chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scatter {
    pub title: String,
    pub subtitle: String,
    pub x_desc: String,
    /// Legend names of the colours (models).
    pub colors: Vec<String>,
    /// Legend names of the marker shapes (data sets).
    pub shapes: Vec<String>,
    pub points: Vec<ScatterPoint>,
}

const WIDTH: u32 = 1100;

impl Scatter {
    fn legend(&self) -> Vec<LegendItem> {
        let mut items: Vec<LegendItem> = self
            .colors
            .iter()
            .enumerate()
            .map(|(i, s)| LegendItem::new(PALETTE[i % PALETTE.len()], Mark::Box, s))
            .collect();
        if self.shapes.len() > 1 {
            items.extend(
                self.shapes.iter().enumerate().map(|(i, s)| LegendItem::new(INK, SHAPES[i % SHAPES.len()], s.clone())),
            );
        }
        items
    }

    fn top(&self) -> f64 {
        accuracy_top(self.points.iter().map(|p| p.y + p.y_std.unwrap_or(0.0)).fold(0.0f64, f64::max))
    }

    fn x_range(&self) -> (f64, f64) {
        let xs = self.points.iter().map(|p| p.x).filter(|x| x.is_finite() && *x > 0.0);
        let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        if !lo.is_finite() {
            return (1.0, 10.0);
        }
        (lo / 1.6, hi * 1.6)
    }
}

/// Tick values for a log axis over `lo..hi`: 1-2-5 per decade, or every integer multiple
/// when that gives fewer than three.
pub(crate) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let pick = |mults: &[f64]| -> Vec<f64> {
        (d0..=d1)
            .flat_map(|d| mults.iter().map(move |m| m * 10f64.powi(d)))
            .filter(|v| *v >= lo * 0.999_999 && *v <= hi * 1.000_001)
            .collect()
    };
    let ticks = pick(&[1.0, 2.0, 5.0]);
    if ticks.len() >= 3 {
        ticks
    } else {
        pick(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    }
}

impl Chart for Scatter {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 560 + legend_height(&self.legend(), WIDTH))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let legend = self.legend();
        let (plot, legend_area) = titled_with_legend(root, &self.title, &self.subtitle, &legend)?;
        let (x0, x1) = self.x_range();
        let mut chart = ChartBuilder::on(&plot)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d((x0..x1).log_scale(), 0.0..self.top())
            .map_err(de)?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc.as_str())
            .y_desc("test accuracy (%)")
            .axis_desc_style(font(15))
            .label_style(font(13))
            .disable_x_mesh()
            .x_label_formatter(&|_| String::new())
            .light_line_style(NO_LINE)
            .bold_line_style(GRID)
            .y_label_formatter(&tick)
            .draw()
            .map_err(de)?;
        // Log-axis ticks drawn here: Plotters labels only powers of ten.
        let top = self.top();
        let label = font(13).pos(Pos::new(HPos::Center, VPos::Top));
        for t in log_ticks(x0, x1) {
            chart.draw_series([PathElement::new(vec![(t, 0.0), (t, top)], GRID.stroke_width(1))]).map_err(de)?;
            let (px, py) = chart.backend_coord(&(t, 0.0));
            root.draw(&PathElement::new(vec![(px, py), (px, py + 5)], INK.stroke_width(1))).map_err(de)?;
            root.draw_text(&human(t), &label, (px, py + 9)).map_err(de)?;
        }
        // Labels only where they do not overlap an earlier label or leave the plot.
        let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
        let (pw, _) = plot.dim_in_pixel();
        for p in self.points.iter().filter(|p| p.x.is_finite() && p.x > 0.0 && p.y.is_finite()) {
            let c = PALETTE[p.color % PALETTE.len()];
            if let Some(s) = p.y_std.filter(|s| s.is_finite() && *s > 0.0) {
                error_bar(&mut chart, p.x, ((p.y - s).max(0.0), (p.y + s).min(100.0)), c.stroke_width(2), 5)?;
            }
            marker(&mut chart, SHAPES[p.shape % SHAPES.len()], (p.x, p.y), 7, c, INK)?;
            let (px, py) = chart.backend_coord(&(p.x, p.y));
            let w = (p.label.chars().count() as f64 * 7.6) as i32;
            // Right of the point, or left of it near the right edge.
            let right = px + 11 + w < pw as i32;
            let bbox =
                if right { (px + 11, py - 22, px + 11 + w, py - 6) } else { (px - 11 - w, py - 22, px - 11, py - 6) };
            let free = placed.iter().all(|b| bbox.2 < b.0 || bbox.0 > b.2 || bbox.3 < b.1 || bbox.1 > b.3);
            if free && bbox.0 >= 0 {
                placed.push(bbox);
                let (h, dx) = if right { (HPos::Left, 11) } else { (HPos::Right, -11) };
                let style = font(13).pos(Pos::new(h, VPos::Bottom));
                chart
                    .draw_series([EmptyElement::at((p.x, p.y)) + Text::new(p.label.clone(), (dx, -6), style)])
                    .map_err(de)?;
            }
        }
        draw_legend(&legend_area, &legend)
    }
}

/// A compact axis number: 65k, 1.2M, 0.5.
pub(crate) fn human(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("{}M", trim(x / 1e6))
    } else if a >= 1e3 {
        format!("{}k", trim(x / 1e3))
    } else {
        trim(x)
    }
}

fn trim(x: f64) -> String {
    let s = if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_cover_narrow_and_wide_ranges() {
        assert_eq!(
            log_ticks(40_000.0, 110_000.0),
            vec![40_000.0, 50_000.0, 60_000.0, 70_000.0, 80_000.0, 90_000.0, 100_000.0]
        );
        assert_eq!(log_ticks(0.15, 1.1), vec![0.2, 0.5, 1.0]);
        assert_eq!(log_ticks(10.0, 10_000.0).len(), 10);
        assert!(log_ticks(0.0, 1.0).is_empty());
    }

    #[test]
    fn human_numbers() {
        assert_eq!(human(65000.0), "65k");
        assert_eq!(human(1_200_000.0), "1.2M");
        assert_eq!(human(0.5), "0.5");
        assert_eq!(human(20.0), "20");
    }
}
