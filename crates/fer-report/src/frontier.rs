//! The efficiency frontier chart: accuracy against three costs (parameters, FLOPs, latency) in
//! three panels on log x axes, one point per model and data set, the Pareto front of each data
//! set drawn as a step line through its points, which are ringed.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{
    accuracy_top, de, draw_legend, font, legend_height, marker, palette_legend, tick, titled_with_legend, Chart,
    LegendItem, Mark, GRID, INK, NO_LINE, PALETTE, SHAPES,
};
use super::scatter::{human, log_ticks};

/// One model on one data set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FrontierPoint {
    /// Parameters, MFLOPs, latency (ms).
    pub x: [f64; 3],
    /// Accuracy in percent.
    pub y: f64,
    /// Index into [`Frontier::colors`].
    pub color: usize,
    /// Index into [`Frontier::shapes`].
    pub shape: usize,
    /// Points of one group (data set) share a front.
    pub group: usize,
    /// On the front of each panel.
    pub front: [bool; 3],
}

/// The chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frontier {
    pub title: String,
    pub subtitle: String,
    pub x_desc: [String; 3],
    pub colors: Vec<String>,
    pub shapes: Vec<String>,
    pub points: Vec<FrontierPoint>,
}

const WIDTH: u32 = 1400;

impl Frontier {
    fn legend(&self) -> Vec<LegendItem> {
        let mut items = palette_legend(self.colors.iter().map(String::as_str), Mark::Box);
        if self.shapes.len() > 1 {
            items.extend(
                self.shapes.iter().enumerate().map(|(i, s)| LegendItem::new(INK, SHAPES[i % SHAPES.len()], s.clone())),
            );
        }
        items.push(LegendItem::new(INK, Mark::Line(2), "Pareto front"));
        items
    }

    fn x_range(&self, panel: usize) -> (f64, f64) {
        let xs = self.points.iter().map(|p| p.x[panel]).filter(|x| x.is_finite() && *x > 0.0);
        let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        if !lo.is_finite() {
            return (1.0, 10.0);
        }
        (lo / 1.8, hi * 1.8)
    }

    /// The front of `group` on `panel`, by cost: a step line (a cheaper point's accuracy holds
    /// until the next point up the front).
    fn front_line(&self, panel: usize, group: usize, top: f64, x1: f64) -> Vec<(f64, f64)> {
        let mut pts: Vec<(f64, f64)> = self
            .points
            .iter()
            .filter(|p| p.group == group && p.front[panel] && p.x[panel].is_finite() && p.x[panel] > 0.0)
            .map(|p| (p.x[panel], p.y.clamp(0.0, top)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut line = Vec::new();
        for (x, y) in pts {
            if let Some(&(_, py)) = line.last() {
                line.push((x, py));
            }
            line.push((x, y));
        }
        if let Some(&(_, y)) = line.last() {
            line.push((x1, y));
        }
        line
    }

    /// Panel `panel` in `area`; its tick labels are drawn on `root` (in the backend's pixels).
    fn panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        panel: usize,
        top: f64,
    ) -> Result<(), String> {
        let (x0, x1) = self.x_range(panel);
        let mut chart = ChartBuilder::on(area)
            .margin(14)
            .x_label_area_size(52)
            .y_label_area_size(if panel == 0 { 64 } else { 40 })
            .build_cartesian_2d((x0..x1).log_scale(), 0.0..top)
            .map_err(de)?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc[panel].as_str())
            .y_desc(if panel == 0 { "test accuracy (%)" } else { "" })
            .axis_desc_style(font(14))
            .label_style(font(12))
            .disable_x_mesh()
            .x_label_formatter(&|_| String::new())
            .light_line_style(NO_LINE)
            .bold_line_style(GRID)
            .y_label_formatter(&tick)
            .draw()
            .map_err(de)?;
        let label = font(12).pos(Pos::new(HPos::Center, VPos::Top));
        for t in log_ticks(x0, x1) {
            chart.draw_series([PathElement::new(vec![(t, 0.0), (t, top)], GRID.stroke_width(1))]).map_err(de)?;
            let (px, py) = chart.backend_coord(&(t, 0.0));
            root.draw(&PathElement::new(vec![(px, py), (px, py + 5)], INK.stroke_width(1))).map_err(de)?;
            root.draw_text(&human(t), &label, (px, py + 9)).map_err(de)?;
        }
        let groups: std::collections::BTreeSet<usize> = self.points.iter().map(|p| p.group).collect();
        for g in groups {
            let line = self.front_line(panel, g, top, x1);
            if line.len() > 1 {
                chart.draw_series([PathElement::new(line, INK.stroke_width(2))]).map_err(de)?;
            }
        }
        for p in self.points.iter().filter(|p| p.x[panel].is_finite() && p.x[panel] > 0.0 && p.y.is_finite()) {
            let c = PALETTE[p.color % PALETTE.len()];
            let at = (p.x[panel], p.y.clamp(0.0, top));
            if p.front[panel] {
                chart.draw_series([Circle::new(at, 12, INK.stroke_width(2))]).map_err(de)?;
            }
            marker(&mut chart, SHAPES[p.shape % SHAPES.len()], at, 7, c, INK)?;
        }
        Ok(())
    }
}

impl Chart for Frontier {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 560 + legend_height(&self.legend(), WIDTH))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let legend = self.legend();
        let (plot, legend_area) = titled_with_legend(root, &self.title, &self.subtitle, &legend)?;
        let top = accuracy_top(self.points.iter().map(|p| p.y).fold(0.0f64, f64::max));
        let panels = plot.split_evenly((1, 3));
        for (i, area) in panels.iter().enumerate() {
            self.panel(root, area, i, top)?;
        }
        draw_legend(&legend_area, &legend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: f64, y: f64, front: bool) -> FrontierPoint {
        FrontierPoint { x: [x, x, x], y, color: 0, shape: 0, group: 0, front: [front; 3] }
    }

    fn chart(points: Vec<FrontierPoint>) -> Frontier {
        Frontier {
            title: "t".into(),
            subtitle: "s".into(),
            x_desc: ["a".into(), "b".into(), "c".into()],
            colors: vec!["m".into()],
            shapes: vec!["d".into()],
            points,
        }
    }

    #[test]
    fn the_front_is_a_staircase_through_its_points_only() {
        let c = chart(vec![point(10.0, 40.0, true), point(100.0, 50.0, true), point(20.0, 30.0, false)]);
        assert_eq!(c.front_line(0, 0, 100.0, 1000.0), vec![(10.0, 40.0), (100.0, 40.0), (100.0, 50.0), (1000.0, 50.0)]);
        assert!(c.front_line(0, 1, 100.0, 1000.0).is_empty());
    }

    #[test]
    fn draws_to_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        crate::font::register().unwrap();
        let c = chart(vec![point(65_000.0, 44.0, true), point(66_877.0, 46.0, true)]);
        let png = super::super::charts::render(&c, &dir.path().join("f"), true).unwrap();
        assert!(std::fs::metadata(&png).unwrap().len() > 1000);
        assert!(std::fs::read_to_string(dir.path().join("f.svg")).unwrap().contains("Pareto front"));
    }
}
