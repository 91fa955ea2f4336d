//! A confusion matrix normalised per true class (rows sum to 1), with class names, the share and
//! count in every cell and a colour bar.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::charts::{de, font, titled, Chart};

/// The confusion chart of one model x data set (counts summed over seeds).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConfusionChart {
    pub title: String,
    pub subtitle: String,
    pub classes: Vec<String>,
    /// `counts[true][predicted]`.
    pub counts: Vec<Vec<u64>>,
}

const LEFT: u32 = 150;
const BOTTOM: u32 = 90;
const BAR: u32 = 120;

/// Sequential blue colour map (ColorBrewer Blues) for a share in 0..1.
pub(crate) fn blues(v: f64) -> RGBColor {
    const STOPS: [(f64, [f64; 3]); 5] = [
        (0.0, [247.0, 251.0, 255.0]),
        (0.25, [198.0, 219.0, 239.0]),
        (0.5, [107.0, 174.0, 214.0]),
        (0.75, [33.0, 113.0, 181.0]),
        (1.0, [8.0, 48.0, 107.0]),
    ];
    let v = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
    for w in STOPS.windows(2) {
        let ((a, ca), (b, cb)) = (w[0], w[1]);
        if v <= b {
            let t = (v - a) / (b - a);
            let mix = |i: usize| (ca[i] + (cb[i] - ca[i]) * t).round() as u8;
            return RGBColor(mix(0), mix(1), mix(2));
        }
    }
    RGBColor(8, 48, 107)
}

impl ConfusionChart {
    fn k(&self) -> usize {
        self.classes.len().max(1)
    }

    fn cell(&self) -> u32 {
        (600 / self.k() as u32).clamp(36, 80)
    }

    /// Room under the matrix: horizontal class names when cells are wide, rotated otherwise.
    fn bottom(&self) -> u32 {
        if self.cell() >= 60 {
            56
        } else {
            BOTTOM
        }
    }

    /// Row-normalised shares.
    pub(crate) fn shares(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let total: u64 = row.iter().sum();
                row.iter().map(|&c| if total == 0 { 0.0 } else { c as f64 / total as f64 }).collect()
            })
            .collect()
    }
}

impl Chart for ConfusionChart {
    fn size(&self) -> (u32, u32) {
        let side = self.cell() * self.k() as u32;
        ((LEFT + side + BAR + 30).max(640), 66 + 20 + side + self.bottom())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let body = titled(root, &self.title, &self.subtitle)?;
        let (cell, k) = (self.cell() as i32, self.k());
        let (x0, y0) = (LEFT as i32, 14);
        let shares = self.shares();
        let big = font(if cell >= 60 { 15 } else { 11 });
        let small = font(if cell >= 60 { 12 } else { 10 });
        for (i, row) in shares.iter().enumerate().take(k) {
            for (j, &v) in row.iter().enumerate().take(k) {
                let (x, y) = (x0 + j as i32 * cell, y0 + i as i32 * cell);
                body.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], blues(v).filled())).map_err(de)?;
                body.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], WHITE.stroke_width(1))).map_err(de)?;
                let ink = if v > 0.55 { WHITE } else { RGBColor(0x22, 0x22, 0x22) };
                let centre = Pos::new(HPos::Center, VPos::Center);
                let count = self.counts.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0);
                let (cx, cy) = (x + cell / 2, y + cell / 2);
                body.draw_text(&format!("{v:.2}"), &big.color(&ink).pos(centre), (cx, cy - cell / 8)).map_err(de)?;
                body.draw_text(&format!("({count})"), &small.color(&ink).pos(centre), (cx, cy + cell / 5))
                    .map_err(de)?;
            }
        }
        let side = cell * k as i32;
        body.draw(&Rectangle::new([(x0, y0), (x0 + side, y0 + side)], RGBColor(0x88, 0x88, 0x88).stroke_width(1)))
            .map_err(de)?;
        let label = font(13);
        for (i, name) in self.classes.iter().enumerate() {
            let y = y0 + i as i32 * cell + cell / 2;
            body.draw_text(name, &label.pos(Pos::new(HPos::Right, VPos::Center)), (x0 - 8, y)).map_err(de)?;
            let x = x0 + i as i32 * cell + cell / 2;
            if cell >= 60 {
                body.draw_text(name, &label.pos(Pos::new(HPos::Center, VPos::Top)), (x, y0 + side + 8)).map_err(de)?;
            } else {
                let rotated = label.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Left, VPos::Center));
                body.draw_text(name, &rotated, (x, y0 + side + 70)).map_err(de)?;
            }
        }
        let desc = font(15);
        body.draw_text(
            "predicted class",
            &desc.pos(Pos::new(HPos::Center, VPos::Bottom)),
            (x0 + side / 2, y0 + side + BOTTOM as i32 - 2),
        )
        .map_err(de)?;
        let vertical = desc.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Top));
        body.draw_text("true class", &vertical, (x0 - 124, y0 + side / 2)).map_err(de)?;
        // Colour bar.
        let bx = x0 + side + 30;
        let steps = 100;
        for s in 0..steps {
            let v = 1.0 - s as f64 / steps as f64;
            let ya = y0 + (side * s) / steps;
            let yb = y0 + (side * (s + 1)) / steps;
            body.draw(&Rectangle::new([(bx, ya), (bx + 18, yb + 1)], blues(v).filled())).map_err(de)?;
        }
        body.draw(&Rectangle::new([(bx, y0), (bx + 18, y0 + side)], RGBColor(0x88, 0x88, 0x88).stroke_width(1)))
            .map_err(de)?;
        for (t, text) in [(0.0, "0"), (0.5, "0.5"), (1.0, "1")] {
            let y = y0 + ((1.0 - t) * side as f64) as i32;
            body.draw(&PathElement::new(vec![(bx + 18, y), (bx + 23, y)], BLACK.stroke_width(1))).map_err(de)?;
            body.draw_text(text, &font(12).pos(Pos::new(HPos::Left, VPos::Center)), (bx + 26, y)).map_err(de)?;
        }
        let share = font(12).transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Top));
        body.draw_text("share of true class", &share, (bx + 56, y0 + side / 2)).map_err(de)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_normalise_and_empty_rows_stay_zero() {
        let c = ConfusionChart {
            title: String::new(),
            subtitle: String::new(),
            classes: vec!["a".into(), "b".into()],
            counts: vec![vec![3, 1], vec![0, 0]],
        };
        assert_eq!(c.shares(), vec![vec![0.75, 0.25], vec![0.0, 0.0]]);
    }

    #[test]
    fn colour_map_ends() {
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(1.0), RGBColor(8, 48, 107));
        assert_eq!(blues(f64::NAN), RGBColor(247, 251, 255));
    }
}
