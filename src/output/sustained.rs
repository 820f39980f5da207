//! The text of a sustained run (`gpubench run --duration`, and `show` of its profile): one
//! line per window and the first seconds against the last.

use std::fmt::Write;

use crate::measure::sustained::{drift, drift_span};
use crate::profile::GemmResult;
use crate::telemetry;

/// The text a sustained run prints: one line per window and the first seconds vs the last.
pub fn render(r: &GemmResult) -> String {
    let mut out = String::new();
    let Some(t) = telemetry::of_result(r) else {
        return out;
    };
    let Some(tl) = t.timeline.as_ref() else {
        return out;
    };
    let f = |x: Option<f64>, p: usize| x.map(|v| format!("{v:.p$}")).unwrap_or_else(|| "–".into());
    let mut rows = vec![vec![
        "time (s)".to_string(),
        "TFLOPS (measured)".into(),
        "SM clock (MHz)".into(),
        "power (W)".into(),
        "temp. (°C)".into(),
        "throttle".into(),
    ]];
    for w in tl {
        rows.push(vec![
            if w.t_end_s - w.t_start_s < 1.0 {
                format!("{:.2}–{:.2}", w.t_start_s, w.t_end_s)
            } else {
                format!("{:.1}–{:.1}", w.t_start_s, w.t_end_s)
            },
            crate::output::format::tflops(w.tflops),
            f(w.sm_clock_mhz_mean, 0),
            f(w.power_w_mean, 1),
            f(w.temperature_c_max, 0),
            w.throttle_reasons.join(","),
        ]);
    }
    let _ = writeln!(out, "{} {}: throughput over time", r.dtype, r.shape());
    out.push_str(
        &crate::output::table::Table::from_rows(&rows).render(crate::output::table::Width::All),
    );
    let total = tl.last().map(|w| w.t_end_s).unwrap_or(0.0);
    let window = tl.first().map(|w| w.t_end_s - w.t_start_s).unwrap_or(0.0);
    if let Some(d) = drift(tl, drift_span(total, window)) {
        let span = if d.span_s < 1.0 {
            format!("{:.2}", d.span_s)
        } else {
            format!("{:.1}", d.span_s)
        };
        let _ = writeln!(
            out,
            "First {span} s: {} TFLOPS{}{}; last {span} s: {} TFLOPS{}{} ({:+.1} %).",
            crate::output::format::tflops(d.first_tflops),
            d.first_sm_clock_mhz
                .map(|c| format!(", {c:.0} MHz"))
                .unwrap_or_default(),
            d.first_power_w
                .map(|p| format!(", {p:.0} W"))
                .unwrap_or_default(),
            crate::output::format::tflops(d.last_tflops),
            d.last_sm_clock_mhz
                .map(|c| format!(", {c:.0} MHz"))
                .unwrap_or_default(),
            d.last_power_w
                .map(|p| format!(", {p:.0} W"))
                .unwrap_or_default(),
            d.change() * 100.0
        );
    }
    if t.source == "nvml" {
        let _ = writeln!(
            out,
            "Clock, power and temperature: NVML readings every {} ms (measured).",
            telemetry::nvml::DEFAULT_INTERVAL.as_millis()
        );
    } else {
        let _ = writeln!(out, "No clock or power telemetry on this device.");
    }
    out
}
