//! The robustness chart of one data set: one panel per corruption, test accuracy against the
//! severity (0: clean), one line per model.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::charts::{
    de, draw_legend, font, legend_height, palette_legend, titled_with_legend, Chart, LegendItem, Mark, GRID, NO_LINE,
    PALETTE,
};

/// One model's line in one panel: accuracy (percent) at severities 0..=5.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Panel {
    pub corruption: String,
    /// (model index, points (severity, accuracy %)).
    pub lines: Vec<(usize, Vec<(f64, f64)>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RobustnessChart {
    pub title: String,
    pub subtitle: String,
    pub models: Vec<String>,
    pub panels: Vec<Panel>,
}

const WIDTH: u32 = 960;

impl RobustnessChart {
    fn legend(&self) -> Vec<LegendItem> {
        palette_legend(self.models.iter().map(String::as_str), Mark::Line(3))
    }
}

impl Chart for RobustnessChart {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 660 + legend_height(&self.legend(), WIDTH))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let legend = self.legend();
        let (plot, legend_area) = titled_with_legend(root, &self.title, &self.subtitle, &legend)?;
        let top =
            self.panels.iter().flat_map(|p| p.lines.iter().flat_map(|l| l.1.iter().map(|q| q.1))).fold(0.0, f64::max);
        let y1 = ((top / 10.0).ceil() * 10.0).clamp(10.0, 100.0);
        for (area, panel) in plot.split_evenly((2, 3)).iter().zip(&self.panels) {
            let mut chart = ChartBuilder::on(area)
                .margin(10)
                .caption(&panel.corruption, font(15))
                .x_label_area_size(34)
                .y_label_area_size(44)
                .build_cartesian_2d(-0.2f64..5.2f64, 0.0f64..y1)
                .map_err(de)?;
            chart
                .configure_mesh()
                .x_desc("severity")
                .y_desc("accuracy (%)")
                .axis_desc_style(font(12))
                .label_style(font(11))
                .light_line_style(NO_LINE)
                .bold_line_style(GRID)
                .x_labels(6)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .draw()
                .map_err(de)?;
            for (m, pts) in &panel.lines {
                let c = PALETTE[m % PALETTE.len()];
                chart.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2))).map_err(de)?;
                chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled()))).map_err(de)?;
            }
        }
        draw_legend(&legend_area, &legend)
    }
}
