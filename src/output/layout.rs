//! A layout estimate as the text `gpubench estimate` and `gpubench plan` print, so the step
//! time always comes with its parts, its rates and where they came from.

use super::format::{fit_line, fit_text, pct, thousands};
use super::sections::{Section, Sections};
use super::table::DEFAULT_WIDTH;
use crate::estimate::layout::comm::Scope;
use crate::estimate::layout::training::LayoutEstimate;
use crate::estimate::layout::{Evaluation, Hardware, Layout};

/// One line naming a layout: `tp 8 · pp 4 · dp 32, micro-batch 1, ...`.
pub fn describe(l: &Layout) -> String {
    let mut s = format!(
        "tp {} · pp {} · dp {}, micro-batch {}",
        l.tp, l.pp, l.dp, l.micro_batch
    );
    if l.virtual_stages > 1 {
        s += &format!(", {} chunks per GPU (interleaved)", l.virtual_stages);
    }
    if l.sequence_parallel {
        s += ", sequence parallel";
    }
    s += &format!(", ZeRO-{}, recompute {}", l.zero, l.recompute.name());
    s
}

fn secs(v: f64) -> String {
    if v >= 100.0 {
        format!("{} s", thousands(v, 1))
    } else if v >= 0.1 {
        format!("{v:.3} s")
    } else {
        format!("{:.2} ms", v * 1e3)
    }
}

fn gb(bytes: f64) -> String {
    format!("{:.1} GB", bytes / 1e9)
}

/// The step's parts with their share.
pub fn breakdown_section(e: &Evaluation) -> Section {
    let b = &e.breakdown;
    let share = |v: f64| pct(v / e.step_time_s);
    let mut s = Section::new(format!("Step: {}", secs(e.step_time_s)));
    s.row(["compute".to_string(), secs(b.compute), share(b.compute)]);
    s.row([
        "tensor-parallel comm".into(),
        secs(b.tp_comm),
        share(b.tp_comm),
    ]);
    s.row([
        "pipeline bubble".into(),
        secs(b.pp_bubble),
        share(b.pp_bubble),
    ]);
    s.row(["stage transfers".into(), secs(b.pp_p2p), share(b.pp_p2p)]);
    let how = if e.layout.dp == 1 {
        "one data-parallel replica: nothing to reduce".to_string()
    } else if e.layout.dp_overlap {
        format!(
            "exposed of {}, overlapped, {}-param buckets",
            secs(b.dp_comm_total),
            e.layout
                .bucket_size()
                .map_or(String::new(), crate::units::fmt_count)
        )
    } else {
        "not overlapped".into()
    };
    s.row([
        "data-parallel comm".into(),
        secs(b.dp_comm_exposed),
        share(b.dp_comm_exposed),
        how,
    ]);
    s.row([
        "optimizer step".into(),
        secs(b.optimizer),
        share(b.optimizer),
    ]);
    s
}

/// The links a layout runs at, at 1 GB messages, with where each comes from: within a node
/// (all-reduce), between nodes, and every other scope whose source differs from those two
/// (a measured all-gather curve, say), each as one phrase.
pub fn links(hw: &Hardware) -> Vec<String> {
    let shown = [Scope::IntraAllReduce, Scope::InterNode];
    let phrase = |scope: Scope, what: &str, digits: usize| {
        let l = hw.links.get(scope);
        format!(
            "{:.digits$} GB/s {what} ({})",
            l.curve.busbw_gbps(1e9),
            l.note
        )
    };
    let mut out = vec![
        phrase(Scope::IntraAllReduce, "busbw within a node", 0),
        phrase(Scope::InterNode, "per GPU between nodes", 1),
    ];
    for scope in Scope::ALL.into_iter().filter(|s| !shown.contains(s)) {
        let group = if scope == Scope::InterSendRecv {
            Scope::InterNode
        } else {
            Scope::IntraAllReduce
        };
        if hw.links.get(scope).note != hw.links.get(group).note {
            out.push(phrase(scope, scope.name(), 1));
        }
    }
    out
}

/// The text table: the layout, the rates and links it runs at, the step by part, throughput,
/// memory and the training run. Notes sit in one column after the shares, so rows fit 100
/// columns.
pub fn table(r: &LayoutEstimate) -> String {
    let e = &r.eval;
    let l = &e.layout;
    let hw = &r.hardware;
    let mut t = Sections::default();
    let mut head = format!("{} on {} × {}: {}\n", r.model, l.gpus(), r.gpu, describe(l));
    head += &format!(
        "  batch: {} sequences of {} = {} tokens, {} micro-batches per pipeline\n",
        l.global_batch,
        l.seq,
        thousands(e.tokens_per_step, 0),
        e.micro_batches
    );
    head += &format!(
        "  compute: {:.1} TFLOPS linear layers, {:.1} attention core, {:.0} GB/s memory-bound\n    ({})\n",
        hw.compute_tflops, hw.attention_tflops, hw.memory_gbps, hw.compute_note
    );
    head += &format!("  links: {}\n\n", links(hw).join(",\n    "));
    t.sections.push(breakdown_section(e));

    let mut th = Section::new("Throughput");
    th.row([
        "tokens/s per GPU".to_string(),
        thousands(e.tokens_per_sec_per_gpu, 0),
    ]);
    th.row([
        "tokens/s".to_string(),
        thousands(e.tokens_per_sec_per_gpu * l.gpus() as f64, 0),
    ]);
    th.row([
        "MFU".to_string(),
        pct(e.mfu),
        String::new(),
        format!(
            "model FLOPs with attention / spec peak {:.1} TFLOPS",
            hw.peak_tflops
        ),
    ]);
    th.row([
        "HFU".to_string(),
        pct(e.hfu),
        String::new(),
        format!(
            "{:.1} TFLOPS per GPU executed, recomputation included",
            e.achieved_tflops
        ),
    ]);
    t.sections.push(th);

    let m = &e.memory.breakdown;
    let mut mem = Section::new(format!(
        "Memory per GPU (first stage): {} of {}, {}",
        gb(e.memory.total_bytes),
        gb(hw.memory_bytes),
        if e.fits { "fits" } else { "does NOT fit" }
    ));
    mem.row(["weights".to_string(), gb(m.weights)]);
    mem.row(["gradients".to_string(), gb(m.gradients)]);
    mem.row(["optimizer + master".to_string(), gb(m.optimizer + m.master)]);
    mem.row(["activations".to_string(), gb(m.activations)]);
    if e.memory.zero3_gathered_bytes > 0.0 {
        mem.row([
            "ZeRO-3 gathered".to_string(),
            gb(e.memory.zero3_gathered_bytes),
            String::new(),
            "2 units' weights + 1 unit's gradients, whole".to_string(),
        ]);
    }
    mem.row(["CUDA context".to_string(), gb(m.cuda_context)]);
    t.sections.push(mem);

    if let Some(tr) = &r.training {
        let mut s = Section::new(format!("Training: {:.3e} tokens", tr.tokens));
        s.row(["steps".to_string(), thousands(tr.steps, 0)]);
        s.row(["days".to_string(), format!("{:.1}", tr.days)]);
        s.row(["GPU-hours".to_string(), thousands(tr.gpu_hours, 0)]);
        if let Some(c) = tr.cost_usd {
            s.row(["cost".to_string(), format!("${}", thousands(c, 0))]);
        }
        if let Some(mwh) = tr.energy_mwh {
            s.row(["energy".to_string(), format!("{} MWh", thousands(mwh, 1))]);
        }
        t.sections.push(s);
    }
    let mut out = fit_text(&head, DEFAULT_WIDTH) + &t.render();
    for n in &r.notes {
        out += &fit_line(&format!("note: {n}"), DEFAULT_WIDTH);
        out += "\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_the_step_and_the_memory() {
        let text = table(&crate::estimate::layout::training::tests::estimate());
        assert!(
            text.contains("pipeline bubble") && text.contains("Memory per GPU"),
            "{text}"
        );
    }
}
