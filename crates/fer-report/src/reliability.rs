//! The reliability diagram of one data set: accuracy against mean confidence per confidence bin,
//! one line per model, the diagonal of perfect calibration dashed.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::charts::{
    de, draw_legend, font, legend_height, palette_legend, tick, titled_with_legend, Chart, LegendItem, Mark, GRID,
    NO_LINE, PALETTE,
};

/// One model's bins: (mean confidence, accuracy), both 0..1, bins without images left out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReliabilitySeries {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReliabilityChart {
    pub title: String,
    pub subtitle: String,
    pub series: Vec<ReliabilitySeries>,
}

const WIDTH: u32 = 720;

impl ReliabilityChart {
    fn legend(&self) -> Vec<LegendItem> {
        palette_legend(self.series.iter().map(|s| s.name.as_str()), Mark::Line(3))
    }
}

impl Chart for ReliabilityChart {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 640 + legend_height(&self.legend(), WIDTH))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let legend = self.legend();
        let (plot, legend_area) = titled_with_legend(root, &self.title, &self.subtitle, &legend)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(de)?;
        chart
            .configure_mesh()
            .x_desc("mean confidence of the bin (softmax probability of the predicted class)")
            .y_desc("accuracy in the bin")
            .axis_desc_style(font(15))
            .label_style(font(13))
            .light_line_style(NO_LINE)
            .bold_line_style(GRID)
            .y_label_formatter(&tick)
            .x_label_formatter(&tick)
            .draw()
            .map_err(de)?;
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                6,
                4,
                RGBColor(0x88, 0x88, 0x88).stroke_width(2),
            )))
            .map_err(de)?;
        for (i, s) in self.series.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            let mut pts: Vec<(f64, f64)> =
                s.points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()).copied().collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(3))).map_err(de)?;
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 5, c.filled()))).map_err(de)?;
        }
        draw_legend(&legend_area, &legend)
    }
}
