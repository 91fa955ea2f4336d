//! Paired differences with their confidence intervals, one row per comparison (a forest plot):
//! the point is the mean paired difference, the bar its 95 % interval, the line at zero is "no
//! difference"; rows whose combined test is significant are drawn in colour.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{
    de, draw_legend, font, legend_height, padded, tick, titled_with_legend, Chart, LegendItem, Mark, GRID, INK,
    NO_LINE, PALETTE,
};

/// One row: a comparison's mean difference and interval, in percentage points.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ForestRow {
    pub label: String,
    pub estimate: f64,
    /// The 95 % interval (`None`: from one run, no interval over runs).
    pub interval: Option<(f64, f64)>,
    /// Whether the combined test is significant at the report's level.
    pub significant: bool,
}

/// The chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ForestChart {
    pub title: String,
    pub subtitle: String,
    pub x_desc: String,
    pub rows: Vec<ForestRow>,
}

const WIDTH: u32 = 1000;
const LABELS: u32 = 380;
const SIGNIFICANT: RGBColor = PALETTE[0];
const NOT_SIGNIFICANT: RGBColor = RGBColor(0x99, 0x99, 0x99);

impl ForestChart {
    fn legend(&self) -> Vec<LegendItem> {
        vec![
            LegendItem::new(SIGNIFICANT, Mark::Circle, "significant (alpha 0.05)"),
            LegendItem::new(NOT_SIGNIFICANT, Mark::Circle, "not significant: the data cannot tell them apart"),
            LegendItem::new(INK, Mark::Line(1), "95 % t-interval over runs"),
        ]
    }
}

impl Chart for ForestChart {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 230 + 40 * self.rows.len().max(1) as u32 + legend_height(&self.legend(), WIDTH))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let legend = self.legend();
        let (plot, legend_area) = titled_with_legend(root, &self.title, &self.subtitle, &legend)?;
        let values = self.rows.iter().flat_map(|r| {
            let (lo, hi) = r.interval.unwrap_or((r.estimate, r.estimate));
            [lo, hi, r.estimate, 0.0]
        });
        let (lo, hi) = values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (x0, x1) = padded(lo, hi, 0.08);
        let n = self.rows.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&plot)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(LABELS)
            .build_cartesian_2d(x0..x1, -0.5..n - 0.5)
            .map_err(de)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(self.x_desc.as_str())
            .axis_desc_style(font(15))
            .label_style(font(13))
            .light_line_style(NO_LINE)
            .bold_line_style(GRID)
            .x_label_formatter(&tick)
            .y_label_formatter(&|_| String::new())
            .draw()
            .map_err(de)?;
        chart.draw_series([PathElement::new(vec![(0.0, -0.5), (0.0, n - 0.5)], INK.stroke_width(1))]).map_err(de)?;
        let label_style = font(13).pos(Pos::new(HPos::Right, VPos::Center));
        for (i, r) in self.rows.iter().enumerate() {
            // The first row at the top.
            let y = n - 1.0 - i as f64;
            let c = if r.significant { SIGNIFICANT } else { NOT_SIGNIFICANT };
            if let Some((lo, hi)) = r.interval.filter(|(lo, hi)| lo.is_finite() && hi.is_finite()) {
                chart.draw_series([PathElement::new(vec![(lo, y), (hi, y)], c.stroke_width(3))]).map_err(de)?;
                for x in [lo, hi] {
                    chart
                        .draw_series([
                            EmptyElement::at((x, y)) + PathElement::new(vec![(0, -6), (0, 6)], c.stroke_width(2))
                        ])
                        .map_err(de)?;
                }
            }
            if r.estimate.is_finite() {
                chart.draw_series([Circle::new((r.estimate, y), 6, c.filled())]).map_err(de)?;
            }
            let (x, py) = chart.backend_coord(&(x0, y));
            let text: String = if r.label.chars().count() > 52 {
                r.label.chars().take(51).chain(['…']).collect()
            } else {
                r.label.clone()
            };
            root.draw_text(&text, &label_style, (x - 10, py)).map_err(de)?;
        }
        draw_legend(&legend_area, &legend)
    }
}
