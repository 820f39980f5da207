//! One training step as `gpubench calibrate` measured it, as text: where the step's time
//! goes (GEMMs by kind, memory-bound passes, optimizer), each figure with its unit and source,
//! then the predicted step time, throughput and MFU.

use std::fmt::Write;

use super::format::{percent, sig, tflops};
use crate::calibrate::breakdown::Breakdown;
use crate::estimate::defaults::DEFAULT_MFU;
use crate::units::{fmt_bytes, fmt_count, fmt_seconds};

/// The breakdown as an aligned text table, each figure with its unit and source.
pub fn render(b: &Breakdown) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<44} {:>12} {:>7} {:>8} {:>12}",
        "part of one step", "time", "share", "calls", "work"
    );
    let mut group = "";
    for p in &b.parts {
        if p.group != group {
            group = match p.group.as_str() {
                "gemm" => {
                    let _ = writeln!(s, "GEMMs (measured per shape on this device):");
                    "gemm"
                }
                "memory" => {
                    let _ = writeln!(
                        s,
                        "memory-bound passes (bytes at the measured copy bandwidth):"
                    );
                    "memory"
                }
                _ => {
                    let _ = writeln!(s, "optimizer (bytes at the measured copy bandwidth):");
                    "optimizer"
                }
            };
        }
        let work = match (p.flops, p.bytes) {
            (Some(f), _) if f >= 1e3 => format!("{}FLOP", fmt_count(f)),
            (Some(f), _) => format!("{f:.0} FLOP"),
            (_, Some(by)) => fmt_bytes(by),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  {:<42} {:>12} {:>6.1}% {:>8} {:>12}",
            p.label,
            fmt_seconds(p.seconds),
            100.0 * p.seconds / b.step_time_s,
            p.calls,
            work
        );
    }
    let _ = writeln!(s);
    // A value too long for the line wraps under itself.
    let line = |s: &mut String, k: &str, v: String| {
        let room = crate::output::table::DEFAULT_WIDTH - 45;
        for (i, l) in super::format::wrap(&v, room, "").lines().enumerate() {
            let key = if i == 0 { k } else { "" };
            let _ = writeln!(s, "{key:<44} {l}");
        }
    };
    line(
        &mut s,
        "GEMMs / memory-bound / optimizer",
        format!(
            "{} / {} / {}",
            fmt_seconds(b.gemm_s),
            fmt_seconds(b.memory_s),
            fmt_seconds(b.optimizer_s)
        ),
    );
    line(
        &mut s,
        "predicted step time",
        format!(
            "{} (derived: sum of the measured parts)",
            fmt_seconds(b.step_time_s)
        ),
    );
    line(
        &mut s,
        if b.tp > 1 {
            "tokens per second per GPU"
        } else {
            "tokens per second (one device)"
        },
        if b.tp > 1 {
            format!(
                "{} (derived: {} tokens per step ÷ {} tensor-parallel ranks)",
                sig(b.tokens_per_sec, 4),
                b.tokens_per_step,
                b.tp
            )
        } else {
            format!(
                "{} (derived: {} tokens per step)",
                sig(b.tokens_per_sec, 4),
                b.tokens_per_step
            )
        },
    );
    line(
        &mut s,
        "model TFLOPS achieved",
        format!(
            "{} (derived: {} = {:.4e} FLOPs per step)",
            tflops(b.model_tflops),
            if b.tp > 1 {
                format!("(6·N·D + attention) ÷ {}", b.tp)
            } else {
                "6·N·D + attention".to_string()
            },
            b.model_flops
        ),
    );
    line(
        &mut s,
        "hardware TFLOPS (with recomputation)",
        format!(
            "{} (derived: {:.4e} FLOPs per step)",
            tflops(b.hardware_tflops),
            b.hardware_flops
        ),
    );
    match (&b.mfu, &b.spec_peak) {
        (Some(m), Some(p)) => line(
            &mut s,
            "MFU",
            format!(
                "{} (of the spec-sheet peak {} TFLOPS, {})",
                percent(*m),
                tflops(p.tflops),
                p.gpu
            ),
        ),
        _ => line(
            &mut s,
            "MFU",
            "n/a (this device has no spec-sheet peak in the GPU table)".into(),
        ),
    }
    if let Some(t) = b.default_mfu_step_s {
        line(
            &mut s,
            "step time a default MFU guess predicts",
            format!(
                "{} (default: {:.1} % MFU, docs/sources.md §12)",
                fmt_seconds(t),
                100.0 * DEFAULT_MFU
            ),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::breakdown::{compute, tests::fixture};

    #[test]
    fn every_part_and_the_mfu_are_shown() {
        let b = compute(&fixture().inputs()).unwrap();
        let text = render(&b);
        for want in [
            "MLP",
            "attention scores and context",
            "norms",
            "AdamW (40 B",
            "MFU",
        ] {
            assert!(text.contains(want), "{want}\n{text}");
        }
    }
}
