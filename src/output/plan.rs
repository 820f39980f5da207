//! A plan as `gpubench plan` prints it: the layouts that fit, ranked by step time with the
//! step's parts, then the fastest in words, why it wins and the rates it assumes (the JSON
//! programs read is `Plan::json`).

use super::format::fit_line;
use super::format::{pct, thousands};
use super::layout::describe;
use super::table::{Align, Table, Width};
use crate::estimate::layout::search::Plan;

/// The ranked table's columns: heading, alignment, and the order the step's parts are left
/// out in to fit (0 = always shown; the highest goes first).
const COLUMNS: [(&str, Align, u8); 18] = [
    ("#", Align::Left, 0),
    ("tp", Align::Left, 0),
    ("pp", Align::Left, 0),
    ("dp", Align::Left, 0),
    ("mb", Align::Left, 0),
    ("v", Align::Left, 0),
    ("SP", Align::Left, 0),
    ("ZeRO", Align::Left, 0),
    ("recompute", Align::Left, 0),
    ("step s", Align::Left, 0),
    ("compute", Align::Left, 5),
    ("tp comm", Align::Left, 1),
    ("bubble", Align::Left, 3),
    ("p2p", Align::Left, 4),
    ("dp exp", Align::Left, 2),
    ("tok/s/GPU", Align::Left, 0),
    ("MFU", Align::Left, 0),
    ("mem GB", Align::Left, 0),
];

/// The ranked table (at most `width` wide: the step's parts are left out first), then the
/// fastest layout, why it wins and the rates.
pub fn text(p: &Plan, width: Width) -> String {
    let f = &p.fixed;
    let title = format!(
        "{} on {} × {}, {} sequences of {} per step: {} of {} layouts fit in {:.0} GB",
        p.model,
        f.gpus,
        p.gpu,
        f.global_batch,
        f.seq,
        p.ranked.len(),
        p.tried,
        p.hardware.memory_bytes / 1e9
    );
    let mut t = Table::new();
    t.indent = "  ".into();
    for (h, align, priority) in COLUMNS {
        t = t.optional(h, align, priority);
    }
    for (i, e) in p.shown().iter().enumerate() {
        let l = &e.layout;
        let b = &e.breakdown;
        t.row([
            (i + 1).to_string(),
            l.tp.to_string(),
            l.pp.to_string(),
            l.dp.to_string(),
            l.micro_batch.to_string(),
            l.virtual_stages.to_string(),
            if l.sequence_parallel { "yes" } else { "no" }.to_string(),
            l.zero.to_string(),
            l.recompute.name().to_string(),
            format!("{:.3}", e.step_time_s),
            format!("{:.3}", b.compute),
            format!("{:.3}", b.tp_comm),
            format!("{:.3}", b.pp_bubble),
            format!("{:.3}", b.pp_p2p),
            format!("{:.3}", b.dp_comm_exposed),
            thousands(e.tokens_per_sec_per_gpu, 0),
            pct(e.mfu),
            format!("{:.1}", e.memory.total_bytes / 1e9),
        ]);
    }
    let cols = width.columns();
    let mut text = fit_line(&title, cols) + "\n" + &t.render(width);
    text += &t.left_out_line(width);
    text += "\n";
    text += &fit_line(&format!("Fastest: {}", describe(&p.ranked[0].layout)), cols);
    text += "\n";
    if let Some(w) = &p.why_fastest {
        text += &fit_line(&format!("Why: {w}"), cols);
        text += "\n";
    }
    text += &fit_line(&format!("Rates: {}", p.hardware.compute_note), cols);
    text += "\n";
    let links = super::layout::links(&p.hardware).join(", ");
    text += &fit_line(&format!("Links: {links}"), cols);
    text += "\n";
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::layout::search::tests::gpt3_on_64;

    #[test]
    fn the_ranked_table_names_the_fastest_and_why() {
        let p = gpt3_on_64();
        let text = text(&p, Width::All);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("gpt-h12288-l96 on 64 × a100, 64 sequences of 2048 per step: ")
                && lines[0].ends_with(&format!(
                    "{} of {} layouts fit in 80 GB",
                    p.ranked.len(),
                    p.tried
                )),
            "{text}"
        );
        assert!(lines[1].trim_start().starts_with("#  tp  pp"), "{text}");
        // Five rows, numbered, the first at the fastest step time.
        assert!(lines[2].trim_start().starts_with("1 "), "{text}");
        assert!(
            lines[2].contains(&format!("{:.3}", p.ranked[0].step_time_s)),
            "{text}"
        );
        assert!(lines[6].trim_start().starts_with("5 "), "{text}");
        assert_eq!(lines[7], "");
        assert_eq!(
            lines[8],
            format!("Fastest: {}", describe(&p.ranked[0].layout))
        );
        assert!(lines[9].starts_with("Why: ") && lines[9].contains("faster than the runner-up"));
        assert_eq!(lines[10], "Rates: spec × GEMM × layer efficiency");
        assert!(
            lines[11].starts_with("Links: 240 GB/s busbw within a node (")
                && text.contains("20.0 GB/s per GPU between nodes ("),
            "{text}"
        );
        assert!(lines.len() <= 14, "{text}");
    }

    #[test]
    fn the_ranked_table_fits_by_leaving_out_the_step_parts() {
        let p = gpt3_on_64();
        let fit = text(&p, Width::Fit(100));
        assert!(fit.lines().all(|l| l.chars().count() <= 100), "{fit}");
        let head = fit.lines().nth(1).unwrap();
        for kept in ["step s", "tok/s/GPU", "MFU", "mem GB", "recompute"] {
            assert!(head.contains(kept), "{fit}");
        }
        assert!(!head.split_whitespace().any(|w| w == "compute"), "{fit}");
        assert!(
            fit.contains("Columns left out to fit 100 characters: compute")
                && fit.contains("(--wide shows every column)."),
            "{fit}"
        );
        let all = text(&p, Width::All);
        assert!(all
            .lines()
            .nth(1)
            .unwrap()
            .contains("compute  tp comm  bubble"));
        assert!(!all.contains("Columns left out"), "{all}");
    }
}
