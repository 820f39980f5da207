//! Pictures of a profile as SVG (plotters, no system fonts needed): TFLOPS against size per
//! dtype, with the spec-sheet and derived peaks as dashed lines; and for sustained runs the
//! throughput, SM clock and power over time.
//!
//! Square sweeps are drawn against n; other shapes against m·n·k on a log axis. Only
//! verified points join a line; points that failed verification are drawn as crosses.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::output::format::tflops as fmt_tflops;
use crate::profile::{GemmResult, Profile};
use crate::telemetry::{self, TimelinePoint};

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

const WIDTH: u32 = 1000;
const SIZE_HEIGHT: u32 = 600;
const PANEL_HEIGHT: u32 = 300;

/// The timeline of the first result that has one.
fn timeline_of(p: &Profile) -> Option<(&GemmResult, Vec<TimelinePoint>)> {
    p.results.iter().find_map(|r| {
        let tl = telemetry::of_result(r)?.timeline?;
        (!tl.is_empty()).then_some((r, tl))
    })
}

fn has_timeline(r: &GemmResult) -> bool {
    telemetry::of_result(r).is_some_and(|t| t.timeline.is_some())
}

/// Renders the profile as an SVG document.
pub fn render_svg(p: &Profile) -> anyhow::Result<String> {
    let sized: Vec<&GemmResult> = p.results.iter().filter(|r| !has_timeline(r)).collect();
    let timeline = timeline_of(p);
    anyhow::ensure!(
        !sized.is_empty() || timeline.is_some(),
        "the profile has no results to plot"
    );
    let panels = match &timeline {
        Some((_, tl)) if tl.iter().any(|w| w.power_w_mean.is_some()) => 3,
        Some(_) => 1,
        None => 0,
    };
    let height = if sized.is_empty() { 0 } else { SIZE_HEIGHT } + panels * PANEL_HEIGHT;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let rest = if sized.is_empty() {
            root.clone()
        } else {
            let (top, rest) = root.split_vertically(SIZE_HEIGHT);
            draw_sizes(&top, p, &sized)?;
            rest
        };
        if let Some((r, tl)) = &timeline {
            draw_timeline(&rest, p, r, tl, panels as usize)?;
        }
        root.present()?;
    }
    Ok(svg)
}

fn x_of(r: &GemmResult, square: bool) -> f64 {
    if square {
        r.n as f64
    } else {
        (r.m as f64 * r.n as f64 * r.k as f64 * r.batch as f64).log10()
    }
}

fn span(lo: f64, hi: f64) -> (f64, f64) {
    let pad = if hi > lo {
        (hi - lo) * 0.04
    } else {
        lo.abs() * 0.1 + 1.0
    };
    (lo - pad, hi + pad)
}

fn draw_sizes(area: &Area<'_>, p: &Profile, rs: &[&GemmResult]) -> anyhow::Result<()> {
    let square = rs.iter().all(|r| r.shape().is_square());
    let xs: Vec<f64> = rs.iter().map(|r| x_of(r, square)).collect();
    let (x0, x1) = span(
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let mut dtypes = Vec::new();
    for r in rs {
        if !dtypes.contains(&r.dtype) {
            dtypes.push(r.dtype);
        }
    }
    let y_top = rs
        .iter()
        .flat_map(|r| [Some(r.tflops), r.peak.spec_tflops, r.peak.derived_tflops])
        .flatten()
        .fold(0.0f64, f64::max);
    // Headroom above the highest line for the legend (upper right), one row per series.
    let rows = dtypes
        .iter()
        .map(|d| {
            let mine = rs.iter().filter(|r| r.dtype == *d);
            let first = rs.iter().find(|r| r.dtype == *d);
            1 + usize::from(mine.clone().any(|r| !r.valid()))
                + first.map_or(0, |r| {
                    usize::from(r.peak.spec_tflops.is_some())
                        + usize::from(r.peak.derived_tflops.is_some())
                })
        })
        .sum::<usize>();
    let y_top = y_top * (1.08 + 0.045 * rows as f64);
    let y_top = if y_top > 0.0 { y_top } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{}: TFLOPS against size (measured)", p.device.name),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..y_top)?;
    chart
        .configure_mesh()
        .x_desc(if square {
            "n (m = n = k)"
        } else {
            "m·n·k (log scale)"
        })
        .y_desc("TFLOPS")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .x_label_formatter(&|v| {
            if square {
                format!("{v:.0}")
            } else {
                format!("{:.1e}", 10f64.powf(*v))
            }
        })
        .draw()?;

    for (i, &d) in dtypes.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mine: Vec<&&GemmResult> = rs.iter().filter(|r| r.dtype == d).collect();
        let mut pts: Vec<(f64, f64)> = mine
            .iter()
            .filter(|r| r.valid())
            .map(|r| (x_of(r, square), r.tflops))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let label = format!("{d} measured");
        if square {
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        } else {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?
                .label(label)
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
        }
        let failed: Vec<(f64, f64)> = mine
            .iter()
            .filter(|r| !r.valid())
            .map(|r| (x_of(r, square), r.tflops))
            .collect();
        if !failed.is_empty() {
            chart
                .draw_series(
                    failed
                        .iter()
                        .map(|&p| Cross::new(p, 6, RED.stroke_width(2))),
                )?
                .label(format!("{d} FAILED verification"))
                .legend(|(x, y)| Cross::new((x + 10, y), 5, RED.stroke_width(2)));
        }
        let first = mine[0];
        if let Some(spec) = first.peak.spec_tflops {
            let who = first.peak.spec_gpu.clone().unwrap_or_default();
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, spec), (x1, spec)],
                    10,
                    6,
                    color.stroke_width(2),
                ))?
                .label(format!("{d} spec peak {} TFLOPS ({who})", fmt_tflops(spec)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], color));
        }
        if let Some(derived) = first.peak.derived_tflops {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, derived), (x1, derived)],
                    3,
                    5,
                    color.stroke_width(1),
                ))?
                .label(format!("{d} derived peak {} TFLOPS", fmt_tflops(derived)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 4, y)], color));
        }
        if let Some(best) = mine
            .iter()
            .filter(|r| r.valid())
            .max_by(|a, b| a.tflops.total_cmp(&b.tflops))
        {
            let at = (x_of(best, square), best.tflops);
            // Anchor the label on the side of the point that has room.
            let h = if at.0 > (x0 + x1) / 2.0 {
                HPos::Right
            } else {
                HPos::Left
            };
            let style = ("sans-serif", 15)
                .into_font()
                .color(&color)
                .pos(Pos::new(h, VPos::Bottom));
            chart.draw_series(std::iter::once(Text::new(
                format!(
                    "best {d}: {} at {} TFLOPS",
                    best.shape(),
                    fmt_tflops(best.tflops)
                ),
                at,
                style,
            )))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn draw_timeline(
    area: &Area<'_>,
    p: &Profile,
    r: &GemmResult,
    tl: &[TimelinePoint],
    panels: usize,
) -> anyhow::Result<()> {
    let areas = area.split_evenly((panels, 1));
    let t_end = tl.last().map(|w| w.t_end_s).unwrap_or(1.0);
    let mid = |w: &TimelinePoint| (w.t_start_s + w.t_end_s) / 2.0;
    type Get = fn(&TimelinePoint) -> Option<f64>;
    let series: [(&str, &str, Get); 3] = [
        ("TFLOPS (measured, per window)", "TFLOPS", |w| {
            Some(w.tflops)
        }),
        ("SM clock (MHz, NVML)", "MHz", |w| w.sm_clock_mhz_mean),
        ("power (W, NVML)", "W", |w| w.power_w_mean),
    ];
    for (i, (name, unit, get)) in series.iter().take(panels).enumerate() {
        let pts: Vec<(f64, f64)> = tl
            .iter()
            .filter_map(|w| get(w).map(|v| (mid(w), v)))
            .collect();
        let hi = pts.iter().map(|p| p.1).fold(0.0f64, f64::max);
        let lo = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let (y0, y1) = if i == 0 {
            (0.0, hi * 1.1 + 1e-9)
        } else {
            span(lo, hi)
        };
        let caption = if i == 0 {
            format!("{} {} {}: over time", p.device.name, r.dtype, r.shape())
        } else {
            String::new()
        };
        let color = COLORS[i];
        let mut chart = ChartBuilder::on(&areas[i])
            .caption(caption, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..t_end, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(*unit)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
}
