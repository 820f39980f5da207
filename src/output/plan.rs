//! A plan as `gpubench plan` prints it: the layouts that fit, ranked by step time with the
//! step's parts, then the fastest in words, why it wins and the rates it assumes (the JSON
//! programs read is `Plan::json`).

use super::format::{pct, thousands};
use super::layout::describe;
use super::sections::{Section, Sections};
use crate::estimate::layout::search::Plan;

/// The ranked table's columns.
const HEADER: [&str; 18] = [
    "#",
    "tp",
    "pp",
    "dp",
    "mb",
    "v",
    "SP",
    "ZeRO",
    "recompute",
    "step s",
    "compute",
    "tp comm",
    "bubble",
    "p2p",
    "dp exp",
    "tok/s/GPU",
    "MFU",
    "mem GB",
];

/// The ranked table, then the fastest layout, why it wins and the rates.
pub fn text(p: &Plan) -> String {
    let f = &p.fixed;
    let mut s = Section::new(format!(
        "{} on {} × {}, {} sequences of {} per step: {} of {} layouts fit in {:.0} GB",
        p.model,
        f.gpus,
        p.gpu,
        f.global_batch,
        f.seq,
        p.ranked.len(),
        p.tried,
        p.hardware.memory_bytes / 1e9
    ));
    s.header = HEADER.iter().map(|c| c.to_string()).collect();
    for (i, e) in p.shown().iter().enumerate() {
        let l = &e.layout;
        let b = &e.breakdown;
        s.row([
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
    let mut text = Sections { sections: vec![s] }.render();
    text += &format!("\nFastest: {}\n", describe(&p.ranked[0].layout));
    if let Some(w) = &p.why_fastest {
        text += &format!("Why: {w}\n");
    }
    text += &format!("Rates: {}\n", p.hardware.compute_note);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::layout::search::tests::gpt3_on_64;

    #[test]
    fn the_ranked_table_names_the_fastest_and_why() {
        let p = gpt3_on_64();
        let text = text(&p);
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
        assert_eq!(lines.len(), 11, "{text}");
    }
}
