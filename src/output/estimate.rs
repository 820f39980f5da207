//! An estimate as people read it: a table, each figure with its unit and source (the JSON
//! programs read is `estimate::json`).
//!
//! With two scenarios (spec sheet and calibrated) the throughput, time, energy and cost rows
//! show both side by side with the relative difference: the point of measuring.

use super::format::{amount, change, days, fit_line, pct, sci, sig, tflops, thousands, usd};
use super::sections::{Section, Sections};
use super::table::DEFAULT_WIDTH;
use crate::estimate::compute::{self, CHINCHILLA_TOKENS_PER_PARAM};
use crate::estimate::scenario::{Basis, Estimate, Outcome, Scale, Workload};
use crate::estimate::{Source, Sourced};
use crate::units::fmt_count;

fn days_fmt(v: f64) -> String {
    days(v)
}
fn tflops_fmt(v: f64) -> String {
    format!("{} TFLOPS", tflops(v))
}
fn tps_fmt(v: f64) -> String {
    format!("{} tokens/s", amount(v))
}
fn hours_fmt(v: f64) -> String {
    format!("{} GPU-h", thousands(v, 0))
}
fn gpus_fmt(v: f64) -> String {
    thousands(v, 0)
}
fn mwh_fmt(v: f64) -> String {
    format!("{} MWh", thousands(v, 1))
}
fn co2_fmt(v: f64) -> String {
    format!("{} tCO2eq", thousands(v, 1))
}

/// One table row over the scenarios: label, a cell per scenario, the difference (two
/// scenarios), and the source (one when all agree).
fn multi_row(s: &mut Section, label: &str, cells: &[Option<&Sourced>], fmt: fn(f64) -> String) {
    if cells.iter().all(Option::is_none) {
        return;
    }
    let mut row = vec![label.to_string()];
    for c in cells {
        row.push(c.map(|c| fmt(c.value)).unwrap_or_else(|| "–".into()));
    }
    if cells.len() == 2 {
        row.push(match (cells[0], cells[1]) {
            (Some(a), Some(b)) => change(a.value, b.value),
            _ => String::new(),
        });
    }
    let mut origins: Vec<String> = Vec::new();
    for c in cells.iter().flatten() {
        let o = c.origin();
        if !origins.contains(&o) {
            origins.push(o);
        }
    }
    row.push(origins.join(" | "));
    s.rows.push(row);
}

fn single(s: &mut Section, label: &str, value: String, src: &Sourced) {
    s.row([label.to_string(), value, src.origin()]);
}

/// The work section: N, D, C, PF-days, the attention term.
fn work_section(e: &Estimate, w: &Workload) -> Section {
    let mut work = Section::new(match &e.model {
        Some((name, src)) => format!("Work: {name} ({src})"),
        None => "Work".to_string(),
    });
    if let Some(n) = &w.params {
        single(
            &mut work,
            "parameters N",
            format!("{} params", fmt_count(n.value)),
            n,
        );
    }
    if let Some(t) = &w.tokens {
        single(
            &mut work,
            "training tokens D",
            format!("{} tokens", fmt_count(t.value)),
            t,
        );
    }
    if let Some(r) = e.tokens_per_param() {
        work.row([
            "tokens per parameter".into(),
            format!("{r:.1}"),
            format!("derived, Chinchilla rule: {CHINCHILLA_TOKENS_PER_PARAM:.0}"),
        ]);
    }
    if let Some(d) = e.dataset_tokens {
        if let Some(t) = &w.tokens {
            work.row([
                "epochs over the dataset".into(),
                format!("{:.2}", t.value / d),
                format!("derived, {} dataset tokens (given)", fmt_count(d)),
            ]);
        }
    }
    single(
        &mut work,
        "training FLOPs C",
        format!("{} FLOPs", sci(w.flops.value)),
        &w.flops,
    );
    let hw = w.hardware_flops();
    if w.recompute.hardware_factor() > 1.0 {
        work.row([
            "hardware FLOPs (8ND)".into(),
            format!("{} FLOPs", sci(hw)),
            "derived, --recompute full runs the forward pass twice".into(),
        ]);
    }
    work.row([
        "compute".into(),
        format!("{} PF-days", sig(compute::pf_days(hw), 3)),
        "derived, FLOPs executed ÷ 8.64e19 (1 PF-day)".into(),
    ]);
    if let Some(a) = &w.attention_per_token {
        let share = w
            .flops_per_token()
            .map(|pt| format!(", +{:.1} % over 6N", a.value / pt * 100.0))
            .unwrap_or_default();
        work.row([
            "attention (PaLM app. B)".into(),
            format!("{} FLOPs/token", sci(a.value)),
            format!("{}{share}", a.origin()),
        ]);
    }

    work
}

/// The estimate as people read it: work, assumptions, then each scenario's throughput,
/// time, energy and cost.
pub fn table(e: &Estimate) -> String {
    let work = match &e.work {
        Some(w) => work_section(e, w),
        None => Section::new("Work"),
    };
    let mut assume = Section::new("Assumptions");
    if let Some(p) = &e.ctx.spec_peak {
        single(
            &mut assume,
            "spec-sheet peak per GPU",
            tflops_fmt(p.value),
            p,
        );
    }
    if let Some(p) = &e.ctx.measured_peak {
        single(&mut assume, "measured GEMM per GPU", tflops_fmt(p.value), p);
    }
    let has_hours = e.outcomes.iter().any(|o| o.gpu_hours.is_some());
    if has_hours {
        if let Some(p) = &e.ctx.power_w {
            single(&mut assume, "power per GPU", format!("{:.0} W", p.value), p);
            single(
                &mut assume,
                "PUE",
                format!("{:.2}", e.ctx.pue.value),
                &e.ctx.pue,
            );
            let c = &e.ctx.carbon_t_per_mwh;
            single(
                &mut assume,
                "carbon intensity",
                format!("{:.3} t/MWh", c.value),
                c,
            );
        }
        if let Some(p) = &e.ctx.price_per_gpu_hour {
            single(
                &mut assume,
                "price per GPU-hour",
                format!("${:.2}", p.value),
                p,
            );
        }
    }
    if let Some(p) = &e.ctx.gpu_price {
        single(&mut assume, "price per GPU", usd(p.value), p);
        let c = &e.ctx;
        single(
            &mut assume,
            "other hardware",
            pct(c.other_hardware_fraction.value) + " of GPUs",
            &c.other_hardware_fraction,
        );
        single(
            &mut assume,
            "data centre",
            pct(c.datacenter_fraction.value) + " of GPUs",
            &c.datacenter_fraction,
        );
        single(&mut assume, "staff", usd(c.staff_usd.value), &c.staff_usd);
    }
    if let Scale::DeadlineDays(d) = &e.scale {
        single(&mut assume, "deadline", days_fmt(d.value), d);
    }

    // One scenario: one table, so every column lines up; two: the side-by-side part
    // gets its own widths.
    let mut head = Sections {
        sections: vec![work, assume],
    };
    let mut tail = scenario_table(e);
    if e.outcomes.len() == 1 {
        head.sections.append(&mut tail.sections);
    }
    head.sections.retain(|s| !s.rows.is_empty());
    let mut out = head.render();
    if !tail.sections.is_empty() {
        out.push('\n');
        out.push_str(&tail.render());
    }
    for n in &e.notes {
        out.push('\n');
        out.push_str(&fit_line(&format!("note: {n}"), DEFAULT_WIDTH));
        out.push('\n');
    }
    out
}

fn scenario_table(est: &Estimate) -> Sections {
    let os = &est.outcomes;
    let col = |f: fn(&Outcome) -> Option<&Sourced>| -> Vec<Option<&Sourced>> {
        os.iter().map(f).collect()
    };
    let mut t = Section::new(if os.len() == 1 {
        format!("Throughput and time ({})", os[0].label)
    } else {
        "Throughput and time".to_string()
    });
    if os.len() > 1 {
        t.header = std::iter::once(String::new())
            .chain(os.iter().map(|o| o.label.clone()))
            .chain(["difference".to_string(), "source".to_string()])
            .collect();
    }
    // The utilization row names its denominator.
    if os.iter().any(|o| o.utilization.is_some()) {
        let mut row = vec!["utilization applied".to_string()];
        for o in os {
            row.push(match (&o.utilization, o.basis) {
                (Some(u), Some(Basis::Spec)) => format!("{} MFU", pct(u.value)),
                (Some(u), Some(Basis::Measured)) => format!("{} of GEMM", pct(u.value)),
                _ => "–".into(),
            });
        }
        if os.len() == 2 {
            row.push(String::new());
        }
        let origins: Vec<String> = os
            .iter()
            .filter_map(|o| o.utilization.as_ref().map(Sourced::origin))
            .collect();
        row.push(origins.join(" | "));
        t.rows.push(row);
        multi_row(
            &mut t,
            "× peak per GPU",
            &col(|o| o.peak_tflops.as_ref()),
            tflops_fmt,
        );
    }
    multi_row(
        &mut t,
        "tokens/s per GPU",
        &col(|o| o.tokens_per_sec_per_gpu.as_ref()),
        tps_fmt,
    );
    multi_row(
        &mut t,
        "achieved TFLOPS per GPU",
        &col(|o| o.achieved_tflops_per_gpu.as_ref()),
        tflops_fmt,
    );
    // Model FLOP/s differ from the hardware's only when the forward pass runs twice.
    if est
        .work
        .as_ref()
        .is_some_and(|w| w.recompute.hardware_factor() > 1.0)
    {
        multi_row(
            &mut t,
            "model TFLOPS per GPU (6N)",
            &col(|o| o.model_tflops_per_gpu.as_ref()),
            tflops_fmt,
        );
    }
    multi_row(&mut t, "MFU (vs spec peak)", &col(|o| o.mfu.as_ref()), pct);
    multi_row(
        &mut t,
        "MFU with attention",
        &col(|o| o.mfu_with_attention.as_ref()),
        pct,
    );
    multi_row(
        &mut t,
        "of measured GEMM",
        &col(|o| o.gemm_utilization.as_ref()),
        pct,
    );
    multi_row(&mut t, "GPUs", &col(|o| o.gpus.as_ref()), gpus_fmt);
    multi_row(
        &mut t,
        "tokens/s total",
        &col(|o| o.tokens_per_sec_total.as_ref()),
        tps_fmt,
    );
    multi_row(
        &mut t,
        "wall-clock time",
        &col(|o| o.days.as_ref()),
        days_fmt,
    );
    multi_row(
        &mut t,
        "GPU-hours",
        &col(|o| o.gpu_hours.as_ref()),
        hours_fmt,
    );

    let mut e = Section::new("Energy and carbon");
    multi_row(&mut e, "energy", &col(|o| o.energy_mwh.as_ref()), mwh_fmt);
    multi_row(&mut e, "carbon", &col(|o| o.co2_tonnes.as_ref()), co2_fmt);

    let mut c = Section::new("Cost (USD)");
    multi_row(&mut c, "renting", &col(|o| o.cost_rented_usd.as_ref()), usd);
    let bought: Vec<Option<Sourced>> = os
        .iter()
        .map(|o| {
            o.cost_bought.map(|b| {
                Sourced::noted(
                    b.total(),
                    Source::Derived,
                    "GPUs × price × (1 + other + data centre) + staff",
                )
            })
        })
        .collect();
    let refs: Vec<Option<&Sourced>> = bought.iter().map(Option::as_ref).collect();
    multi_row(&mut c, "buying the cluster", &refs, usd);
    if os.len() == 1 {
        if let Some(b) = os[0].cost_bought {
            for (label, v) in [
                ("  GPUs", b.gpus_usd),
                ("  other hardware", b.other_hardware_usd),
                ("  data centre", b.datacenter_usd),
                ("  staff", b.staff_usd),
            ] {
                c.row([label.to_string(), usd(v), String::new()]);
            }
        }
    }
    let mut t = Sections {
        sections: vec![t, e, c],
    };
    t.sections.retain(|s| !s.rows.is_empty());
    t
}
