//! Test accuracy by model and data set: grouped bars (mean over seeds) with std error bars and
//! the published figure marked on each bar.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{
    accuracy_top, bold, de, draw_legend, error_bar, font, legend_height, marker, palette_legend, tick,
    titled_with_legend, Chart, LegendItem, Mark, GRID, INK, NO_LINE, PALETTE,
};

/// One bar: a model's mean accuracy on one data set, in percent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bar {
    /// Index into [`AccuracyBars::series`] (its colour).
    pub series: usize,
    pub mean: f64,
    pub std: Option<f64>,
    pub n: i64,
    /// Published accuracies for this model on this data set, in percent.
    pub published: Vec<f64>,
}

/// The bars of one data set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BarGroup {
    pub name: String,
    pub bars: Vec<Bar>,
}

/// The grouped bar chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AccuracyBars {
    pub title: String,
    pub subtitle: String,
    pub series: Vec<String>,
    pub groups: Vec<BarGroup>,
}

impl AccuracyBars {
    fn width(&self) -> u32 {
        let bars: usize = self.groups.iter().map(|g| g.bars.len()).sum();
        (260 + bars as u32 * 90 + self.groups.len() as u32 * 40).clamp(900, 1800)
    }

    /// Top of the y axis: room for error bars, published marks and value labels.
    fn top(&self) -> f64 {
        let max = self
            .groups
            .iter()
            .flat_map(|g| &g.bars)
            .flat_map(|b| b.published.iter().copied().chain([b.mean + b.std.unwrap_or(0.0)]))
            .fold(0.0f64, f64::max);
        if max > 92.0 {
            108.0
        } else {
            accuracy_top(max)
        }
    }

    fn legend(&self) -> Vec<LegendItem> {
        let mut items = palette_legend(self.series.iter().map(String::as_str), Mark::Box);
        items.push(LegendItem::new(INK, Mark::Line(1), "std over runs (seeds, folds)"));
        if self.groups.iter().any(|g| g.bars.iter().any(|b| !b.published.is_empty())) {
            items.push(LegendItem::new(INK, Mark::Diamond, "published figure"));
        }
        items
    }
}

impl Chart for AccuracyBars {
    fn size(&self) -> (u32, u32) {
        let w = self.width();
        (w, 560 + legend_height(&self.legend(), w))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let legend = self.legend();
        let (plot, legend_area) = titled_with_legend(root, &self.title, &self.subtitle, &legend)?;
        let g = self.groups.len().max(1);
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(64)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..g as f64, 0.0..self.top())
            .map_err(de)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("data set")
            .y_desc("test accuracy (%)")
            .axis_desc_style(font(15))
            .label_style(font(14))
            .x_labels(g + 1)
            .x_label_formatter(&|_| String::new())
            .y_labels(11)
            .light_line_style(NO_LINE)
            .bold_line_style(GRID)
            .y_label_formatter(&tick)
            .draw()
            .map_err(de)?;
        let label = font(13).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (gi, group) in self.groups.iter().enumerate() {
            let k = group.bars.len().max(1) as f64;
            let slot = (0.8 / k).min(0.26);
            let start = gi as f64 + 0.5 - slot * k / 2.0;
            for (j, b) in group.bars.iter().enumerate() {
                let x0 = start + j as f64 * slot;
                let (x1, xc) = (x0 + slot * 0.88, x0 + slot * 0.44);
                let c = PALETTE[b.series % PALETTE.len()];
                chart.draw_series([Rectangle::new([(x0, 0.0), (x1, b.mean)], c.filled())]).map_err(de)?;
                let mut top = b.mean;
                if let Some(s) = b.std.filter(|s| s.is_finite()) {
                    let (lo, hi) = ((b.mean - s).max(0.0), (b.mean + s).min(100.0));
                    error_bar(&mut chart, xc, (lo, hi), INK.stroke_width(1), 6)?;
                    top = hi;
                }
                for p in &b.published {
                    marker(&mut chart, Mark::Diamond, (xc, *p), 6, INK, WHITE)?;
                }
                let text = format!("{:.1}", b.mean);
                let (_, bar_px) = chart.backend_coord(&(xc, b.mean));
                let (_, base_px) = chart.backend_coord(&(xc, 0.0));
                if base_px - bar_px > 60 {
                    // Inside the bar near its base: clear of error bars and published marks.
                    let inside = bold(13).color(&WHITE).pos(Pos::new(HPos::Center, VPos::Bottom));
                    chart.draw_series([EmptyElement::at((xc, 0.0)) + Text::new(text, (0, -8), inside)]).map_err(de)?;
                } else {
                    chart
                        .draw_series([EmptyElement::at((xc, top)) + Text::new(text, (0, -4), label.clone())])
                        .map_err(de)?;
                }
            }
        }
        // Data set names under their groups (drawn on the root, in backend pixels).
        let name_style = font(15).pos(Pos::new(HPos::Center, VPos::Top));
        for (gi, group) in self.groups.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(gi as f64 + 0.5, 0.0));
            root.draw_text(&group.name, &name_style, (x, y + 10)).map_err(de)?;
        }
        draw_legend(&legend_area, &legend)
    }
}
