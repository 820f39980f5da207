//! Every GPU of a node measured at once (`gpubench run --device all`, and `gpubench show` of
//! its profile) as text: one line per GPU and result, the node summary per dtype and shape,
//! and a burn-in's row per GPU.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::format::tflops;
use super::table::{Align, Table, Width};
use crate::cluster::merge::key;
use crate::cluster::outliers;
use crate::measure::sustained;
use crate::profile::GemmResult;

/// A table with a row per GPU and result (its PCI address; its UUID where `width` leaves room,
/// always with `--wide`), then per dtype and shape the node summary: median, fastest and
/// slowest GPU, and the spread (fastest − slowest, as a share of the median).
pub fn render(results: &[GemmResult], gpus: u32, width: Width) -> String {
    let mut t = Table::new()
        .column("GPU", Align::Left)
        .column("PCI bus", Align::Left)
        .optional("UUID", Align::Left, 1)
        .column("dtype m×n×k", Align::Left)
        .column("TFLOPS", Align::Right)
        .column("check", Align::Left)
        .aligned_headings();
    let mut by_key: BTreeMap<String, Vec<(u32, f64)>> = BTreeMap::new();
    for r in results {
        let ordinal = r.gpu.as_ref().map_or(0, |g| g.ordinal);
        let key = key(r);
        let id = |f: fn(&crate::profile::ResultGpu) -> Option<&String>| {
            r.gpu
                .as_ref()
                .and_then(f)
                .cloned()
                .unwrap_or_else(|| "-".into())
        };
        t.row([
            format!("cuda:{ordinal}"),
            id(|g| g.pci_bus_id.as_ref()),
            id(|g| g.uuid.as_ref()),
            key.clone(),
            tflops(r.tflops),
            if r.valid() {
                "verified".into()
            } else {
                "FAILED verification".into()
            },
        ]);
        by_key.entry(key).or_default().push((ordinal, r.tflops));
    }
    let mut out = t.render(width);
    let hidden = t.hidden(width);
    if !hidden.is_empty() {
        let _ = writeln!(
            out,
            "Columns left out to fit {} characters: {} (--wide shows every column).",
            width.columns(),
            hidden.join(", ")
        );
    }
    for (key, v) in &by_key {
        let values: Vec<f64> = v.iter().map(|(_, t)| *t).collect();
        let median = outliers::median(&values).unwrap_or(0.0);
        let cmp = |a: &&(u32, f64), b: &&(u32, f64)| a.1.total_cmp(&b.1);
        // Ties name the lowest ordinal, fastest and slowest alike.
        let fastest = v.iter().max_by(|a, b| cmp(a, b).then(b.0.cmp(&a.0)));
        let (Some(fast), Some(slow)) = (fastest, v.iter().min_by(cmp)) else {
            continue;
        };
        let spread = if median > 0.0 {
            format!("{:.1} %", (fast.1 - slow.1) / median * 100.0)
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "Node, {gpus} GPUs, {key}: median {} TFLOPS, spread {spread}\n  fastest cuda:{} {}, slowest cuda:{} {} TFLOPS",
            tflops(median),
            fast.0,
            tflops(fast.1),
            slow.0,
            tflops(slow.1),
        );
    }
    out
}

/// A burn-in's summary per GPU: median TFLOPS over the run, the first seconds against the
/// last, and the mean SM clock, mean power, hottest reading and throttle reasons telemetry saw.
pub fn render_sustained(results: &[GemmResult]) -> String {
    let f = |x: Option<f64>, p: usize| x.map(|v| format!("{v:.p$}")).unwrap_or_else(|| "–".into());
    let mut rows = vec![vec![
        "GPU".to_string(),
        "dtype m×n×k".into(),
        "TFLOPS (median)".into(),
        "first → last".into(),
        "SM clock (MHz)".into(),
        "power (W)".into(),
        "max temp. (°C)".into(),
        "throttle".into(),
    ]];
    let mut source = None;
    for r in results {
        let t = crate::telemetry::of_result(r);
        let Some(tl) = t.as_ref().and_then(|t| t.timeline.as_ref()) else {
            continue;
        };
        if let Some(t) = &t {
            source.get_or_insert_with(|| t.source.clone());
        }
        let total = tl.last().map(|w| w.t_end_s).unwrap_or(0.0);
        let window = tl.first().map(|w| w.t_end_s - w.t_start_s).unwrap_or(0.0);
        let drift = sustained::drift(tl, sustained::drift_span(total, window));
        rows.push(vec![
            format!("cuda:{}", r.gpu.as_ref().map_or(0, |g| g.ordinal)),
            key(r),
            tflops(r.tflops),
            drift
                .map(|d| {
                    // a change that rounds to zero reads +0.0 %, not -0.0 %
                    let pct = Some(d.change() * 100.0)
                        .filter(|p| p.abs() >= 0.05)
                        .unwrap_or(0.0);
                    format!(
                        "{} → {} ({pct:+.1} %)",
                        tflops(d.first_tflops),
                        tflops(d.last_tflops),
                    )
                })
                .unwrap_or_else(|| "–".into()),
            f(t.as_ref().and_then(|t| t.sm_clock_mhz_mean), 0),
            f(t.as_ref().and_then(|t| t.power_w_mean), 1),
            f(t.as_ref().and_then(|t| t.temperature_c_max), 0),
            t.as_ref()
                .map(|t| t.throttle_reasons.join(","))
                .unwrap_or_default(),
        ]);
    }
    if rows.len() == 1 {
        return String::new();
    }
    let mut out = String::from("Burn-in, per GPU\n");
    out.push_str(&Table::from_rows(&rows).render(Width::All));
    let _ = writeln!(
        out,
        "TFLOPS measured; first → last compares the first and last sixth of the run (at most 10 s each); {}.",
        match source.as_deref() {
            Some("nvml") => format!(
                "clock, power and temperature: NVML readings every {} ms (measured)",
                crate::telemetry::nvml::DEFAULT_INTERVAL.as_millis()
            ),
            _ => "no clock, power or temperature readings (NVML not found)".to_string(),
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::output::tests::line;
    use crate::profile::{Telemetry, TimelinePoint};

    /// Four GPUs at 800, 800, 400 and 790 TFLOPS (fp16 64³); cuda:0 with its PCI address and
    /// UUID.
    fn results() -> Vec<GemmResult> {
        let mut v =
            crate::measure::testing::profile_with(DType::Fp16, &[800.0, 800.0, 400.0, 790.0], true)
                .results;
        let g = v[0].gpu.as_mut().unwrap();
        g.uuid = Some("GPU-0000".into());
        g.pci_bus_id = Some("00000000:18:00.0".into());
        v
    }

    #[test]
    fn a_line_per_gpu_and_the_node_summary() {
        let text = render(&results(), 4, Width::All);
        assert_eq!(
            line(&text, "GPU"),
            "GPU     PCI bus           UUID      dtype m×n×k    TFLOPS  check"
        );
        assert_eq!(
            line(&text, "cuda:0"),
            "cuda:0  00000000:18:00.0  GPU-0000  fp16 64×64×64   800.0  verified"
        );
        assert_eq!(
            line(&text, "cuda:2"),
            "cuda:2  -                 -         fp16 64×64×64   400.0  verified"
        );
        // A real UUID (40 characters) is the column left out when the rows do not fit, and
        // kept with --wide.
        let mut wide = results();
        wide[0].gpu.as_mut().unwrap().uuid =
            Some("GPU-eeeeeeee-eeee-eeee-eeee-000000000000".into());
        let table = |w| {
            let text = render(&wide, 4, w);
            text.lines()
                .take_while(|l| !l.starts_with("Node,"))
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let fit = table(Width::Fit(80));
        let (note, rows) = fit.split_last().unwrap();
        assert!(rows
            .iter()
            .all(|l| !l.contains("UUID") && l.chars().count() <= 80));
        assert_eq!(
            note,
            "Columns left out to fit 80 characters: UUID (--wide shows every column)."
        );
        assert!(fit[1].starts_with("cuda:0  00000000:18:00.0  fp16 64×64×64"));
        assert!(table(Width::from_wide(false))[1].ends_with(
            "GPU-eeeeeeee-eeee-eeee-eeee-000000000000  fp16 64×64×64   800.0  verified"
        ));
        assert!(table(Width::All)[1].contains("GPU-eeeeeeee-eeee-eeee-eeee-000000000000"));
        // median 795, spread (800 − 400) / 795
        assert_eq!(
            line(&text, "Node,"),
            "Node, 4 GPUs, fp16 64×64×64: median 795.0 TFLOPS, spread 50.3 %"
        );
        assert_eq!(
            line(&text, "fastest"),
            "  fastest cuda:0 800.0, slowest cuda:2 400.0 TFLOPS"
        );
    }

    #[test]
    fn a_burn_in_row_per_gpu_with_its_drift_and_readings() {
        let mut rs = results();
        assert_eq!(render_sustained(&rs), "", "no timeline, no burn-in table");
        // six windows of one second; 800 TFLOPS falling to 760 in the last
        let timeline = (0..6)
            .map(|i| TimelinePoint {
                t_start_s: i as f64,
                t_end_s: i as f64 + 1.0,
                products: 100,
                tflops: if i == 5 { 760.0 } else { 800.0 },
                sm_clock_mhz_mean: Some(1980.0),
                mem_clock_mhz_mean: None,
                power_w_mean: Some(600.0),
                temperature_c_max: Some(64.0),
                throttle_reasons: vec![],
            })
            .collect();
        rs[3].telemetry = Some(Telemetry {
            source: "nvml".into(),
            sm_clock_mhz_mean: Some(1188.0),
            power_w_mean: Some(400.0),
            temperature_c_max: Some(88.0),
            throttle_reasons: vec!["sw_thermal_slowdown".into()],
            timeline: Some(timeline),
            ..Default::default()
        });
        let text = render_sustained(&rs);
        assert!(
            text.starts_with("Burn-in, per GPU\nGPU     dtype m×n×k"),
            "{text}"
        );
        assert_eq!(
            line(&text, "cuda:3"),
            "cuda:3  fp16 64×64×64  790.0            800.0 → 760.0 (-5.0 %)  1188            400.0      88              sw_thermal_slowdown"
        );
        assert!(
            !text.contains("cuda:0"),
            "only GPUs with a timeline: {text}"
        );
        assert!(text.contains("NVML readings every 20 ms (measured)."));
    }
}
