//! `gpubench calibrate` as text: the dry run's list of every GEMM of one training step with
//! its shape, count and FLOPs, and a calibration's measured shapes, copy bandwidth and step
//! breakdown ([`super::step`]).

use std::fmt::Write;

use crate::calibrate::file::CalibrationFile;
use crate::calibrate::StepPlan;
use crate::output::format::fit_text;
use crate::output::table::DEFAULT_WIDTH;
use crate::units::{fmt_bytes, fmt_count, fmt_seconds};

/// How a step is split over tensor-parallel ranks, for the header lines ("" on one device).
fn rank_note(tp: u64) -> String {
    if tp > 1 {
        format!(
            "\ntensor parallel: one of {tp} ranks' share of every layer (Megatron-LM's split); the communication between them is not timed"
        )
    } else {
        String::new()
    }
}

/// The step as the header lines show it.
fn describe(plan: &StepPlan) -> String {
    let s = &plan.spec;
    let m = &s.model;
    format!(
        "model: {} ({} layers, hidden {}, {} heads / {} KV heads of {}, MLP {} {}, vocabulary {}; {})\n\
         step: seq {}, micro-batch {} = {} tokens, {}, recompute {}, {} products{}\n\
         parameters: {} in matrix products (N), {} in all (from the architecture)\n",
        m.name,
        m.layers,
        m.hidden,
        m.heads,
        m.kv_heads,
        m.head_dim(),
        m.ffn,
        if m.gated_mlp { "gated" } else { "plain" },
        m.vocab,
        m.source,
        s.seq,
        s.micro_batch,
        s.tokens(),
        plan.dtype,
        s.recompute.name(),
        if s.fused { "fused QKV and gate/up" } else { "separate Q/K/V and gate/up" },
        rank_note(s.tp),
        fmt_count(plan.step.matmul_params),
        fmt_count(plan.step.params),
    )
}

/// `--dry-run`: every GEMM with its shape, count and FLOPs, then the totals and the identity;
/// fitted to [`DEFAULT_WIDTH`] columns.
pub fn render_plan(plan: &StepPlan) -> String {
    let mut s = describe(plan);
    let _ = writeln!(
        s,
        "\n{:<12} {:<11} {:<7} {:>22} {:>7} {:>14}",
        "GEMM", "pass", "product", "shape (batch×)m×n×k", "calls", "FLOPs per step"
    );
    for g in &plan.gemms {
        let _ = writeln!(
            s,
            "{:<12} {:<11} {:<7} {:>22} {:>7} {:>14.4e}",
            g.name,
            g.pass.label(),
            g.product,
            g.shape.to_string(),
            g.count,
            g.flops()
        );
    }
    let a = plan.step.attention_flops;
    let six_nd = 6.0 * plan.step.matmul_params * plan.step.tokens_per_step as f64;
    let tp = plan.spec.tp;
    let _ = writeln!(s);
    // One of several ranks runs its share of the whole model's FLOPs.
    let (on, whole, model) = if tp > 1 {
        (
            format!(" on one of {tp} ranks"),
            "the whole model's ",
            format!("(6·N·D + attention) ÷ {tp}"),
        )
    } else {
        (String::new(), "", "6·N·D + attention".to_string())
    };
    let _ = writeln!(
        s,
        "GEMM FLOPs per step{on}: {:.4e} ({whole}6·N·D = {:.4e}, attention 12·L·H·Q·T·D = {:.4e}; model FLOPs {model} = {:.4e})",
        plan.hardware_flops(),
        six_nd,
        a,
        plan.model_flops
    );
    let _ = writeln!(
        s,
        "distinct shapes to measure: {} (of {} GEMMs)",
        plan.shapes.len(),
        plan.gemms.len()
    );
    let kernels: u64 = plan.passes.iter().map(|p| p.count).sum();
    let _ = writeln!(
        s,
        "memory-bound passes: {} per step in {} kernels (see docs/calibrating.md)",
        fmt_bytes(plan.memory_bytes()),
        kernels
    );
    let _ = writeln!(
        s,
        "optimizer: AdamW, {:.0} B per parameter × {} parameters{} = {}",
        plan.step.optimizer_bytes_per_param,
        fmt_count(plan.rank_params()),
        if tp > 1 { " (one rank's share)" } else { "" },
        fmt_bytes(plan.step.optimizer_bytes_per_param * plan.rank_params())
    );
    fit_text(&s, DEFAULT_WIDTH)
}

/// The measured shapes, the bandwidth and the breakdown, fitted to [`DEFAULT_WIDTH`] columns.
pub fn render_result(f: &CalibrationFile) -> String {
    let timed = f
        .shapes
        .iter()
        .map(|x| x.algorithms_timed)
        .max()
        .unwrap_or(1);
    // Say what the backend offers: the CPU has one algorithm, cuBLASLt several.
    let algorithms = if f.device.backend == crate::backend::BackendKind::Cpu {
        "one algorithm per shape (the CPU backend offers no choice)".to_string()
    } else {
        format!(
            "up to {} candidate algorithms per shape (at most {} offered and timed)",
            f.algos, timed
        )
    };
    let plan_line = format!(
        "device: {} ({}); {algorithms}\n",
        f.device.name, f.device.backend
    );
    let mut s = plan_line;
    let m = &f.model;
    let _ = writeln!(
        s,
        "model: {} ({} layers, hidden {}, {} heads / {} KV heads); step: seq {}, micro-batch {} = {} tokens, {}, recompute {}{}",
        m.name,
        m.layers,
        m.hidden,
        m.heads,
        m.kv_heads,
        f.step.seq,
        f.step.micro_batch,
        f.step.tokens_per_step,
        f.step.dtype,
        f.step.recompute,
        rank_note(f.step.tp)
    );
    let _ = writeln!(
        s,
        "\n{:>24} {:>7} {:>12} {:>10} {:>9}",
        "shape (batch×)m×n×k", "calls", "median", "TFLOPS", "verified"
    );
    for x in &f.shapes {
        let _ = writeln!(
            s,
            "{:>24} {:>7} {:>12} {:>10.3} {:>9}",
            x.shape.to_string(),
            x.calls_per_step,
            fmt_seconds(x.median_s),
            x.tflops,
            if x.valid { "yes" } else { "NO" }
        );
    }
    let _ = writeln!(
        s,
        "\ncopy bandwidth: {:.1} GB/s (measured: {} buffer, {}); smallest kernel {} (measured: {} copy)\n",
        f.bandwidth.bytes_per_s / 1e9,
        fmt_bytes(f.bandwidth.copy_bytes as f64),
        f.bandwidth.method,
        fmt_seconds(f.bandwidth.small_copy_s),
        fmt_bytes(f.bandwidth.small_bytes as f64)
    );
    s.push_str(&super::step::render(&f.breakdown));
    fit_text(&s, DEFAULT_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::step::tests::{spec, tiny_llama};
    use crate::dtype::DType;
    use crate::estimate::compute::Recompute;
    use crate::output::tests::line;

    #[test]
    fn the_dry_run_lists_every_gemm_and_the_totals() {
        let plan = StepPlan::new(spec(tiny_llama(), Recompute::None), DType::Bf16);
        let text = render_plan(&plan);
        // Fitted to 100 columns.
        assert!(text.starts_with("model: tiny-llama (2 layers, hidden 64, 4 heads / 2 KV heads of 16, MLP 96 gated, vocabulary 100;\n  test)\n"), "{text}");
        assert_eq!(
            line(&text, "step:"),
            "step: seq 32, micro-batch 2 = 64 tokens, bf16, recompute none, fused QKV and gate/up products"
        );
        assert_eq!(
            line(&text, "GEMM "),
            "GEMM         pass        product    shape (batch×)m×n×k   calls FLOPs per step"
        );
        // 2·64·128·64 FLOPs, once per layer
        assert_eq!(
            line(&text, "qkv          fwd"),
            "qkv          fwd         X·Wᵀ                 64×128×64       2       2.0972e6"
        );
        assert_eq!(
            line(&text, "scores       fwd"),
            "scores       fwd         Q·Kᵀ                8×32×32×16       2       5.2429e5"
        );
        assert_eq!(
            line(&text, "distinct shapes"),
            "distinct shapes to measure: 14 (of 21 GEMMs)"
        );
        assert!(line(&text, "optimizer:").starts_with("optimizer: AdamW, 40 B per parameter × "));
    }

    #[test]
    fn a_calibration_shows_its_shapes_bandwidth_and_breakdown() {
        let mut f = crate::calibrate::tests::tiny_calibration();
        f.shapes[0].median_s = 15e-6;
        f.shapes[0].tflops = 0.07;
        f.shapes[0].valid = false;
        let text = render_result(&f);
        assert!(
            text.starts_with(&format!(
                "device: {} (cpu); one algorithm per shape (the CPU backend offers no choice)\n",
                f.device.name
            )),
            "{text}"
        );
        assert_eq!(
            line(&text, "shape (batch×)"),
            "     shape (batch×)m×n×k   calls       median     TFLOPS  verified"
        );
        assert_eq!(
            line(&text, "64×128×64"),
            "               64×128×64       2     15.00 µs      0.070        NO"
        );
        assert!(line(&text, "8×32×16×32").ends_with("yes"));
        assert!(line(&text, "copy bandwidth:").contains(" GB/s (measured: 64.00 MiB buffer, "));
        // the step breakdown follows
        assert!(line(&text, "predicted step time").contains("(derived: sum of the measured parts)"));
    }
}
