//! Knowledge-distillation effects: accuracy against the temperature (or the distillation
//! weight), one line per value of the other, with std error bars.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::charts::{
    de, draw_legend, error_bar, font, legend_height, padded, palette_legend, tick, titled_with_legend, Chart,
    LegendItem, Mark, GRID, NO_LINE, PALETTE,
};

/// One line: mean accuracy (percent) and std at each x.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KdSeries {
    pub name: String,
    pub points: Vec<(f64, f64, Option<f64>)>,
}

/// The KD chart of one model x data set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KdChart {
    pub title: String,
    pub subtitle: String,
    pub x_desc: String,
    pub series: Vec<KdSeries>,
}

const WIDTH: u32 = 880;

impl KdChart {
    fn legend(&self) -> Vec<LegendItem> {
        palette_legend(self.series.iter().map(|s| s.name.as_str()), Mark::Line(3))
    }
}

impl Chart for KdChart {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 520 + legend_height(&self.legend(), WIDTH))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let legend = self.legend();
        let (plot, legend_area) = titled_with_legend(root, &self.title, &self.subtitle, &legend)?;
        let xs = self.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).filter(|x| x.is_finite());
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
        let (x0, x1) = padded(lo, hi, 0.06);
        // Zoomed to the data (the effects are small); bars elsewhere keep the zero baseline.
        let spread = |p: &(f64, f64, Option<f64>)| p.2.filter(|s| s.is_finite()).unwrap_or(0.0);
        let pts = || self.series.iter().flat_map(|s| s.points.iter()).filter(|p| p.1.is_finite());
        let y_lo = pts().map(|p| p.1 - spread(p)).fold(f64::INFINITY, f64::min);
        let y_hi = pts().map(|p| p.1 + spread(p)).fold(f64::NEG_INFINITY, f64::max);
        let (y0, y1) = padded(y_lo, y_hi, 0.25);
        let (y0, y1) = (y0.max(0.0), y1.min(100.0).max(y0 + 0.5));
        let mut chart = ChartBuilder::on(&plot)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(de)?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc.as_str())
            .y_desc("test accuracy (%)")
            .axis_desc_style(font(15))
            .label_style(font(13))
            .light_line_style(NO_LINE)
            .bold_line_style(GRID)
            .y_label_formatter(&tick)
            .x_label_formatter(&tick)
            .draw()
            .map_err(de)?;
        for (i, s) in self.series.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            let mut pts: Vec<(f64, f64, Option<f64>)> =
                s.points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()).cloned().collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (x, y, sd) in &pts {
                if let Some(sd) = sd.filter(|v| v.is_finite() && *v > 0.0) {
                    error_bar(&mut chart, *x, ((y - sd).max(0.0), (y + sd).min(100.0)), c.stroke_width(1), 5)?;
                }
            }
            chart.draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), c.stroke_width(3))).map_err(de)?;
            chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 5, c.filled()))).map_err(de)?;
        }
        draw_legend(&legend_area, &legend)
    }
}
