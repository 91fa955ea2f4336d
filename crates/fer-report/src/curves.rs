//! Learning curves of one model on one data set: loss and accuracy per epoch, a thin line per
//! seed and the mean over seeds, one colour per setting.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::charts::{
    accuracy_top, de, draw_legend, font, legend_height, tick, titled_with_legend, Chart, LegendItem, Mark, GRID,
    NO_LINE, PALETTE,
};
use fer_core::records::EpochRow;

/// The curves of one setting: every seed and their mean per epoch.
#[derive(Debug, Clone)]
pub(crate) struct CurveSeries {
    pub setting: String,
    pub seeds: Vec<Vec<EpochRow>>,
    pub mean: Vec<EpochRow>,
}

/// The learning-curve chart of one model x data set.
#[derive(Debug, Clone)]
pub(crate) struct LearningCurves {
    pub title: String,
    pub subtitle: String,
    pub series: Vec<CurveSeries>,
}

const WIDTH: u32 = 1400;

impl LearningCurves {
    fn legend(&self) -> Vec<LegendItem> {
        let mut items: Vec<LegendItem> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let name = if s.setting.is_empty() { "all runs".to_string() } else { s.setting.clone() };
                LegendItem::new(PALETTE[i % PALETTE.len()], Mark::Box, format!("{name} ({} seeds)", s.seeds.len()))
            })
            .collect();
        let grey = RGBColor(0x55, 0x55, 0x55);
        items.push(LegendItem::new(grey, Mark::Line(3), "validation, mean over seeds"));
        items.push(LegendItem::new(grey.mix(0.45), Mark::Line(1), "validation, each seed"));
        items.push(LegendItem::new(grey, Mark::Dashed, "training, mean over seeds"));
        items
    }

    fn epochs(&self) -> (f64, f64) {
        let max = self.series.iter().flat_map(|s| s.seeds.iter().flatten()).map(|m| m.epoch).max().unwrap_or(1);
        if max <= 1 {
            (0.5, 1.5)
        } else {
            (1.0, max as f64)
        }
    }

    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        caption: &str,
        y_desc: &str,
        pick: &dyn Fn(&EpochRow, bool) -> f64,
        y_range: (f64, f64),
    ) -> Result<(), String> {
        let (x0, x1) = self.epochs();
        let mut chart = ChartBuilder::on(area)
            .caption(caption, font(18))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y_range.0..y_range.1)
            .map_err(de)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(y_desc)
            .axis_desc_style(font(15))
            .label_style(font(13))
            .x_labels(((x1 - x0) as usize + 1).min(12))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .light_line_style(NO_LINE)
            .bold_line_style(GRID)
            .y_label_formatter(&tick)
            .draw()
            .map_err(de)?;
        for (i, s) in self.series.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            for seed in &s.seeds {
                let pts: Vec<(f64, f64)> = seed.iter().map(|m| (m.epoch as f64, pick(m, false))).collect();
                chart.draw_series(LineSeries::new(pts, c.mix(0.35).stroke_width(1))).map_err(de)?;
            }
            let train: Vec<(f64, f64)> = s.mean.iter().map(|m| (m.epoch as f64, pick(m, true))).collect();
            chart.draw_series(DashedLineSeries::new(train, 7, 5, c.stroke_width(2))).map_err(de)?;
            let val: Vec<(f64, f64)> = s.mean.iter().map(|m| (m.epoch as f64, pick(m, false))).collect();
            if val.len() == 1 {
                chart.draw_series(val.iter().map(|p| Circle::new(*p, 4, c.filled()))).map_err(de)?;
            }
            chart.draw_series(LineSeries::new(val, c.stroke_width(3))).map_err(de)?;
        }
        Ok(())
    }
}

impl Chart for LearningCurves {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 520 + legend_height(&self.legend(), WIDTH))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let legend = self.legend();
        let (plots, legend_area) = titled_with_legend(root, &self.title, &self.subtitle, &legend)?;
        let (left, right) = plots.split_horizontally(WIDTH / 2);
        let max_loss = self
            .series
            .iter()
            .flat_map(|s| s.seeds.iter().flatten().chain(&s.mean))
            .flat_map(|m| [m.train_loss, m.val_loss])
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let loss = |m: &EpochRow, train: bool| if train { m.train_loss } else { m.val_loss };
        self.panel(&left, "Loss", "cross-entropy loss", &loss, (0.0, (max_loss * 1.08).max(1e-3)))?;
        let acc = |m: &EpochRow, train: bool| 100.0 * if train { m.train_acc } else { m.val_acc };
        let max_acc = self
            .series
            .iter()
            .flat_map(|s| s.seeds.iter().flatten().chain(&s.mean))
            .flat_map(|m| [m.train_acc, m.val_acc])
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        self.panel(&right, "Accuracy", "accuracy (%)", &acc, (0.0, accuracy_top(max_acc * 100.0)))?;
        draw_legend(&legend_area, &legend)
    }
}
