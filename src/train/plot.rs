//! `assay runs plot`: one or more runs' loss curves as an SVG or PNG picture (plotters): raw
//! loss (faint), smoothed loss, eval loss (dots) on the left axis, learning rate (dashed) on
//! the right. The legend sits in a strip under the chart, never over the curves, and the step
//! axis is ticked at whole steps only, so no two ticks read the same.
//!
//! Text is drawn with an embedded ASCII subset of DejaVu Sans (10 kB, Bitstream Vera licence,
//! `fonts/LICENSE-DejaVu.txt`) through plotters' `ab_glyph` feature, so pictures come out the
//! same on a headless machine without system fonts. PNG bytes are encoded with `png` rather
//! than plotters' `image` feature, which would pull the whole `image` crate.

use super::curves::{Curves, padded, range};
use crate::store::RunPoint;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

const FONT: &[u8] = include_bytes!("fonts/DejaVuSans-ascii.ttf");
const FAMILY: &str = "sans-serif";
pub const SIZE: (u32, u32) = (1000, 600);

/// One run to draw.
#[derive(Debug, Clone)]
pub struct PlotRun {
    pub label: String,
    pub points: Vec<RunPoint>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{0}: the picture must end in .svg or .png")]
    Extension(String),
    #[error("nothing to draw: the runs have no logged loss yet")]
    Empty,
    #[error("the embedded font could not be loaded")]
    Font,
    #[error("drawing the chart: {0}")]
    Draw(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("encoding PNG: {0}")]
    Png(#[from] png::EncodingError),
}

fn draw_err(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

fn font() -> Result<(), PlotError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// Colours for the runs, in order (the Okabe-Ito palette: distinct for colour-blind readers).
const PALETTE: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
];

/// How a series is drawn, for its legend entry.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mark {
    Line(RGBAColor, u32),
    Dot(RGBColor),
}

/// The series' legend entries, in drawing order.
fn entries(runs: &[PlotRun], curves: &[Curves]) -> Vec<(String, Mark)> {
    let mut out = Vec::new();
    for (i, (r, c)) in runs.iter().zip(curves).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        if !c.loss.is_empty() {
            out.push((format!("{} loss", r.label), Mark::Line(color.mix(0.3), 1)));
            out.push((
                format!("{} loss (smoothed)", r.label),
                Mark::Line(color.to_rgba(), 3),
            ));
        }
        if !c.eval_loss.is_empty() {
            out.push((format!("{} eval loss", r.label), Mark::Dot(color)));
        }
        if !c.lr.is_empty() {
            out.push((
                format!("{} learning rate", r.label),
                Mark::Line(color.mix(0.8), 1),
            ));
        }
    }
    out
}

/// The series' legend labels, in drawing order, for tests and for the CLI's summary.
pub fn legend(runs: &[PlotRun]) -> Vec<String> {
    let curves: Vec<Curves> = runs
        .iter()
        .map(|r| Curves::from_points(&r.points))
        .collect();
    entries(runs, &curves).into_iter().map(|e| e.0).collect()
}

/// Legend entries per row of the strip under the chart, and the height of a row.
const LEGEND_COLUMNS: usize = 2;
const LEGEND_ROW: u32 = 22;

/// The strip's height for `n` entries.
pub fn legend_height(n: usize) -> u32 {
    n.div_ceil(LEGEND_COLUMNS) as u32 * LEGEND_ROW + 12
}

/// How many step labels the axis asks for: at most one per whole step in the range, so that
/// the axis's "nice" spacing is a whole number of steps (1, 2, 5, 10, ...) and every label
/// names a different step.
pub fn step_labels(x0: f64, x1: f64) -> usize {
    let whole = (x1.floor() - x0.ceil()).max(0.0) as usize + 1;
    whole.clamp(2, 10)
}

/// Writes the chart to `out` (`.svg` or `.png`, by extension).
pub fn plot(runs: &[PlotRun], out: &Path) -> Result<(), PlotError> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let curves: Vec<Curves> = runs
        .iter()
        .map(|r| Curves::from_points(&r.points))
        .collect();
    if curves
        .iter()
        .all(|c| c.loss.is_empty() && c.eval_loss.is_empty())
    {
        return Err(PlotError::Empty);
    }
    font()?;
    let io = |source| PlotError::Io {
        path: out.display().to_string(),
        source,
    };
    match ext.as_deref() {
        Some("svg") => {
            let mut text = String::new();
            {
                let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
                draw(&root, runs, &curves)?;
                root.present().map_err(draw_err)?;
            }
            std::fs::write(out, text).map_err(io)
        }
        Some("png") => {
            let (w, h) = SIZE;
            let mut buf = vec![0u8; (w * h * 3) as usize];
            {
                let root = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
                draw(&root, runs, &curves)?;
                root.present().map_err(draw_err)?;
            }
            let file = std::fs::File::create(out).map_err(io)?;
            let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header()?;
            writer.write_image_data(&buf)?;
            writer.finish()?;
            Ok(())
        }
        _ => Err(PlotError::Extension(out.display().to_string())),
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[PlotRun],
    curves: &[Curves],
) -> Result<(), PlotError> {
    root.fill(&WHITE).map_err(draw_err)?;
    let legend = entries(runs, curves);
    let (_, height) = root.dim_in_pixel();
    let strip = legend_height(legend.len()).min(height / 2);
    let (area, below) = root.split_vertically(height - strip);
    draw_legend(&below, &legend)?;
    let steps = range(
        curves
            .iter()
            .filter_map(Curves::step_range)
            .flat_map(|(a, b)| [a, b]),
    )
    .unwrap_or((0.0, 1.0));
    let (x0, x1) = padded(steps);
    let (y0, y1) = padded(
        range(
            curves
                .iter()
                .filter_map(Curves::loss_range)
                .flat_map(|(a, b)| [a, b]),
        )
        .unwrap_or((0.0, 1.0)),
    );
    let lr = range(
        curves
            .iter()
            .filter_map(Curves::lr_range)
            .flat_map(|(a, b)| [a, b]),
    );
    let (l0, l1) = padded(lr.unwrap_or((0.0, 1.0)));
    let title = runs
        .iter()
        .map(|r| r.label.as_str())
        .collect::<Vec<_>>()
        .join(" vs ");
    let mut chart = ChartBuilder::on(&area)
        .caption(title, (FAMILY, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .right_y_label_area_size(if lr.is_some() { 80 } else { 0 })
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?
        .set_secondary_coord(x0..x1, l0..l1);
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss")
        .x_labels(step_labels(x0, x1))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FAMILY, 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err)?;
    if lr.is_some() {
        chart
            .configure_secondary_axes()
            .y_desc("learning rate")
            .label_style((FAMILY, 14))
            .y_label_formatter(&|v| format!("{v:.1e}"))
            .draw()
            .map_err(draw_err)?;
    }
    for (i, c) in curves.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        if !c.loss.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    c.loss.iter().copied(),
                    color.mix(0.3).stroke_width(1),
                ))
                .map_err(draw_err)?;
            chart
                .draw_series(LineSeries::new(
                    c.smoothed.iter().copied(),
                    color.stroke_width(3),
                ))
                .map_err(draw_err)?;
        }
        if !c.eval_loss.is_empty() {
            chart
                .draw_series(
                    c.eval_loss
                        .iter()
                        .map(|&p| Circle::new(p, 5, color.filled())),
                )
                .map_err(draw_err)?;
        }
        if !c.lr.is_empty() {
            chart
                .draw_secondary_series(DashedLineSeries::new(
                    c.lr.iter().copied(),
                    6,
                    4,
                    color.mix(0.8).stroke_width(1),
                ))
                .map_err(draw_err)?;
        }
    }
    Ok(())
}

/// The legend strip: a sample of each series' mark and its label, in columns.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, Mark)],
) -> Result<(), PlotError> {
    let (width, _) = area.dim_in_pixel();
    let column = (width as i32 - 24) / LEGEND_COLUMNS as i32;
    for (i, (label, mark)) in entries.iter().enumerate() {
        let x = 24 + (i % LEGEND_COLUMNS) as i32 * column;
        let y = 6 + (i / LEGEND_COLUMNS) as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        match *mark {
            Mark::Line(color, width) => area
                .draw(&PathElement::new(
                    vec![(x, y), (x + 24, y)],
                    color.stroke_width(width),
                ))
                .map_err(draw_err)?,
            Mark::Dot(color) => area
                .draw(&Circle::new((x + 12, y), 5, color.filled()))
                .map_err(draw_err)?,
        }
        let style =
            TextStyle::from((FAMILY, 14).into_font()).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            ));
        area.draw(&Text::new(label.clone(), (x + 32, y), style))
            .map_err(draw_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::coord::ranged1d::Ranged;
    use plotters::coord::types::RangedCoordf64;

    #[test]
    fn step_ticks_are_whole_and_distinct_for_any_run_length() {
        for last in [1u64, 2, 3, 5, 7, 12, 30, 99, 1000, 123_456] {
            let (x0, x1) = padded((1.0, last as f64));
            let ticks = RangedCoordf64::from(x0..x1).key_points(step_labels(x0, x1));
            let labels: Vec<String> = ticks.iter().map(|v| format!("{v:.0}")).collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(labels, unique, "run of {last} steps");
            assert!(ticks.iter().all(|t| t.fract() == 0.0), "{last}: {ticks:?}");
            assert!(!ticks.is_empty(), "{last}");
        }
    }
}
