//! The domain-shift chart: one accuracy matrix per model, rows the data set it was trained on,
//! columns the data set it was tested on (the diagonal: its own test split).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{de, font, titled, Chart};
use super::confusion::blues;

/// Accuracy matrices, one per model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TransferChart {
    pub title: String,
    pub subtitle: String,
    /// The data sets, in row and column order.
    pub datasets: Vec<String>,
    /// (model, `acc[trained][tested]` in 0..1, `None` where no run finished).
    pub panels: Vec<(String, Vec<Vec<Option<f64>>>)>,
}

const CELL: i32 = 92;
const LEFT: i32 = 120;
const TOP: i32 = 40;
const GAP: i32 = 60;

impl TransferChart {
    fn side(&self) -> i32 {
        CELL * self.datasets.len().max(1) as i32
    }

    fn panel_width(&self) -> i32 {
        LEFT + self.side() + GAP
    }
}

impl Chart for TransferChart {
    fn size(&self) -> (u32, u32) {
        let w = (self.panel_width() * self.panels.len().max(1) as i32).max(640);
        (w as u32, (66 + TOP + self.side() + 70) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let body = titled(root, &self.title, &self.subtitle)?;
        let side = self.side();
        for (p, (model, acc)) in self.panels.iter().enumerate() {
            let x0 = p as i32 * self.panel_width() + LEFT;
            let y0 = TOP;
            body.draw_text(model, &font(15).pos(Pos::new(HPos::Center, VPos::Bottom)), (x0 + side / 2, y0 - 10))
                .map_err(de)?;
            for (i, row) in acc.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    let (x, y) = (x0 + j as i32 * CELL, y0 + i as i32 * CELL);
                    let fill = v.map_or(RGBColor(0xee, 0xee, 0xee), blues);
                    body.draw(&Rectangle::new([(x, y), (x + CELL, y + CELL)], fill.filled())).map_err(de)?;
                    body.draw(&Rectangle::new([(x, y), (x + CELL, y + CELL)], WHITE.stroke_width(2))).map_err(de)?;
                    let ink = if v.is_some_and(|v| v > 0.55) { WHITE } else { RGBColor(0x22, 0x22, 0x22) };
                    let text = v.map_or("none".to_string(), |v| format!("{:.1} %", v * 100.0));
                    let style =
                        font(if i == j { 16 } else { 15 }).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                    body.draw_text(&text, &style, (x + CELL / 2, y + CELL / 2)).map_err(de)?;
                }
            }
            for (k, name) in self.datasets.iter().enumerate() {
                let y = y0 + k as i32 * CELL + CELL / 2;
                body.draw_text(name, &font(13).pos(Pos::new(HPos::Right, VPos::Center)), (x0 - 8, y)).map_err(de)?;
                let x = x0 + k as i32 * CELL + CELL / 2;
                body.draw_text(name, &font(13).pos(Pos::new(HPos::Center, VPos::Top)), (x, y0 + side + 8))
                    .map_err(de)?;
            }
            let desc = font(13).color(&RGBColor(0x55, 0x55, 0x55));
            body.draw_text("tested on", &desc.pos(Pos::new(HPos::Center, VPos::Top)), (x0 + side / 2, y0 + side + 30))
                .map_err(de)?;
            body.draw_text("trained on", &desc.pos(Pos::new(HPos::Right, VPos::Bottom)), (x0 - 8, y0 - 4))
                .map_err(de)?;
        }
        Ok(())
    }
}
