//! A memory report as `gpubench memory` prints it, so each kind of training state shows its
//! size, its bytes per parameter and whether ZeRO shards it, and the fit comes with the
//! fewest GPUs at each stage (the JSON programs read is `MemoryReport::json`).

use super::format::thousands;
use super::sections::{Section, Sections};
use crate::estimate::memory::{Fewest, MemoryReport, Precision};
use crate::units::fmt_count;

fn gb(bytes: f64) -> String {
    format!("{} GB", thousands(bytes / 1e9, 1))
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The breakdown table, then whether it fits and the fewest GPUs.
pub fn text(r: &MemoryReport) -> String {
    let mut sections = vec![breakdown_section(r)];
    if let Some(fit) = fit_section(r) {
        sections.push(fit);
    }
    let mut out = Sections { sections }.render();
    if r.inputs.device.is_none() {
        out.push_str(
            "\nnote: add --gpu NAME, --profile FILE or --device-memory-gb to see whether it fits\n",
        );
    }
    out
}

/// Each kind of state per GPU, with its bytes per parameter and whether it is sharded.
fn breakdown_section(r: &MemoryReport) -> Section {
    let i = &r.inputs;
    let (b, bpp) = (&r.per_gpu, &r.bpp);
    let title = format!(
        "Memory per GPU: {} parameters, {}{}, {}, ZeRO-{} across {} GPU{}",
        fmt_count(i.params.value),
        i.precision.name(),
        if i.precision == Precision::Fp32 {
            ""
        } else {
            " mixed precision"
        },
        i.optimizer.name(),
        i.zero,
        thousands(i.gpus as f64, 0),
        plural(i.gpus)
    );
    let mut s = Section::new(title);
    let sharded = |on: bool| if on { ", sharded" } else { "" };
    s.row([
        "parameters".to_string(),
        format!("{} params", fmt_count(i.params.value)),
        i.params.origin(),
    ]);
    let per = |bytes: f64, what: &str, on: bool| {
        format!("derived, {bytes} bytes/param{what}{}", sharded(on))
    };
    s.row([
        "weights".into(),
        gb(b.weights),
        per(bpp.weights, "", i.zero >= 3),
    ]);
    s.row([
        "gradients".into(),
        gb(b.gradients),
        per(bpp.gradients, "", i.zero >= 2),
    ]);
    if bpp.master > 0.0 {
        s.row([
            "fp32 master weights".into(),
            gb(b.master),
            per(bpp.master, "", i.zero >= 1),
        ]);
    }
    s.row([
        "optimizer states".into(),
        gb(b.optimizer),
        per(
            bpp.optimizer,
            &format!(" ({})", i.optimizer.name()),
            i.zero >= 1,
        ),
    ]);
    match &i.activations {
        Some(a) => s.row(["activations".into(), gb(a.value), a.origin()]),
        None => s.row([
            "activations",
            "not included",
            "give --model (or --layers, --hidden, --heads, --seq-len) to add them",
        ]),
    }
    s.row([
        "CUDA context".into(),
        gb(b.cuda_context),
        i.cuda_context.origin(),
    ]);
    s.row([
        "total per GPU".into(),
        gb(b.total()),
        format!("derived, {:.1} GiB", b.total() / 1024f64.powi(3)),
    ]);
    s
}

/// Whether it fits one GPU and the GPUs asked for, and the fewest GPUs at each ZeRO stage
/// (`None` without the GPU's memory).
fn fit_section(r: &MemoryReport) -> Option<Section> {
    let d = r.inputs.device.as_ref()?;
    let i = &r.inputs;
    let mut fit = Section::new("Fit");
    fit.row(["memory per GPU".into(), gb(d.value), d.origin()]);
    fit.row([
        "fits one GPU".into(),
        yes_no(r.one_gpu.total() <= d.value),
        format!("{} needed on one GPU", gb(r.one_gpu.total())),
    ]);
    if i.gpus > 1 {
        fit.row([
            format!("fits on {} GPUs", thousands(i.gpus as f64, 0)),
            yes_no(r.per_gpu.total() <= d.value),
            format!("{} per GPU with ZeRO-{}", gb(r.per_gpu.total()), i.zero),
        ]);
    }
    for f in &r.fewest {
        let (v, why) = fewest_cells(f);
        fit.row([format!("fewest GPUs, ZeRO-{}", f.stage), v, why]);
    }
    Some(fit)
}

/// The count and what it needs per GPU, or "never" and what stays unsharded.
fn fewest_cells(f: &Fewest) -> (String, String) {
    match f.gpus {
        Some(n) => (
            format!("{} GPU{}", thousands(n as f64, 0), plural(n)),
            format!("{} per GPU", gb(f.per_gpu.total())),
        ),
        None => (
            "never".to_string(),
            format!(
                "what it does not shard is {} per GPU: shard more, recompute activations, or add tensor/pipeline parallelism",
                gb(f.per_gpu.total())
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::memory::tests::seven_b_on_80_gb;
    use crate::output::tests::line;

    #[test]
    fn seven_b_zero3_on_eight_gpus() {
        let text = text(&seven_b_on_80_gb(3, 8));
        assert!(
            text.starts_with(
                "Memory per GPU: 7.00 B parameters, bf16 mixed precision, adamw, ZeRO-3 across 8 GPUs"
            ),
            "{text}"
        );
        let w = line(&text, "weights");
        assert!(
            w.contains("1.8 GB") && w.contains("2 bytes/param, sharded"),
            "{w}"
        );
        assert!(line(&text, "total per GPU").contains("15.3 GB"), "{text}");
        assert!(line(&text, "fits one GPU").contains("no"), "{text}");
        assert!(line(&text, "fits on 8 GPUs").contains("yes"), "{text}");
        let z0 = line(&text, "fewest GPUs, ZeRO-0");
        assert!(z0.contains("never") && z0.contains("113.3 GB"), "{z0}");
        assert!(
            line(&text, "fewest GPUs, ZeRO-3").contains("2 GPUs"),
            "{text}"
        );
        assert!(!text.contains("note:"), "{text}");
    }

    #[test]
    fn without_a_gpu_it_says_how_to_see_the_fit() {
        let mut inputs = seven_b_on_80_gb(0, 1).inputs;
        inputs.device = None;
        let text = text(&MemoryReport::of(inputs));
        assert!(
            text.contains("across 1 GPU\n") || text.contains("across 1 GPU "),
            "{text}"
        );
        assert!(!text.contains("Fit"), "{text}");
        assert!(text.ends_with(
            "note: add --gpu NAME, --profile FILE or --device-memory-gb to see whether it fits\n"
        ));
    }
}
