//! A scaling report as `gpubench scale` prints it, so the Chinchilla and Kaplan answers stand
//! side by side with the sources and the limits of each fit (the JSON programs read is
//! `ScaleReport::json`).

use super::format::{fit_text, sci, thousands};
use super::sections::{Section, Sections};
use super::table::DEFAULT_WIDTH;
use crate::estimate::compute::{self, CHINCHILLA_TOKENS_PER_PARAM};
use crate::estimate::scaling::{Given, LawPoint, ScaleReport, CHINCHILLA, KAPLAN};
use crate::estimate::Sourced;
use crate::units::fmt_count;

/// A factor as given: `10`, `2.5`.
fn trim(v: f64) -> String {
    let s = format!("{v}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

fn data_gb(r: &ScaleReport, tokens: f64) -> String {
    format!("{} GB", thousands(r.data_bytes(tokens) / 1e9, 0))
}

/// The data section for a given model (when one is given), the laws side by side, and the
/// sources.
pub fn text(r: &ScaleReport) -> String {
    let mut sections = Vec::new();
    if let Given::Params(n) = &r.given {
        sections.push(data_section(r, n));
    }
    sections.push(laws_section(r));
    let mut out = Sections { sections }.render();
    out.push('\n');
    out.push_str(&fit_text(&format!(
        "sources: {}; {}. Kaplan's N counts non-embedding parameters, and his fit spans budgets up to about 1 PF-day: far beyond that it is an extrapolation. Growth factor {} ({}).\n",
        CHINCHILLA.source,
        KAPLAN.source,
        trim(r.growth.value),
        r.growth.source
    ), DEFAULT_WIDTH));
    out
}

/// The Chinchilla rule's data for the model, its size on disk and its compute.
fn data_section(r: &ScaleReport, n: &Sourced) -> Section {
    let mut s = Section::new("Data for the model (Chinchilla rule: 20 tokens per parameter)");
    s.row([
        "parameters".into(),
        format!("{} params", fmt_count(n.value)),
        n.origin(),
    ]);
    if let Some(rule) = &r.rule {
        s.row([
            "training tokens".into(),
            format!("{} tokens", fmt_count(rule.tokens)),
            format!("derived, {CHINCHILLA_TOKENS_PER_PARAM:.0} × N"),
        ]);
        s.row([
            "data on disk".into(),
            data_gb(r, rule.tokens),
            format!(
                "derived, tokens × {} bytes/token ({})",
                r.bytes_per_token.value,
                r.bytes_per_token.origin()
            ),
        ]);
        s.row([
            "training compute 6ND".into(),
            format!("{} FLOPs", sci(rule.flops)),
            format!(
                "derived, {} PF-days",
                thousands(compute::pf_days(rule.flops), 1)
            ),
        ]);
    }
    if let Some(t) = r.trained_tokens {
        s.row([
            "the model was trained on".into(),
            format!("{} tokens", fmt_count(t)),
            format!("preset, {:.1} tokens per parameter", t / n.value),
        ]);
    }
    s
}

/// One cell of the laws' table: a law's point in a report, at growth factor k.
type Cell = fn(&ScaleReport, &LawPoint, f64) -> String;

/// Each law's size, data, compute and growth in a column.
fn laws_section(r: &ScaleReport) -> Section {
    let mut l = Section::new(match r.given {
        Given::Compute(c) => format!(
            "Compute-optimal size for {} FLOPs ({} PF-days, given)",
            sci(c),
            thousands(compute::pf_days(c), 1)
        ),
        Given::Params(_) => "Compute-optimal data for this size, by law".to_string(),
    });
    l.header = vec![
        String::new(),
        "Chinchilla (a = b = 0.5)".into(),
        "Kaplan (a = 0.73, b = 0.27)".into(),
    ];
    let k = r.growth.value;
    let rows: [(String, Cell); 7] = [
        ("parameters N".into(), |_, p, _| {
            format!("{} params", fmt_count(p.params))
        }),
        ("tokens D".into(), |_, p, _| {
            format!("{} tokens", fmt_count(p.tokens))
        }),
        ("tokens per parameter".into(), |_, p, _| {
            format!("{:.1}", p.tokens / p.params)
        }),
        ("compute C = 6ND".into(), |_, p, _| {
            format!("{} FLOPs", sci(p.flops))
        }),
        ("data on disk".into(), |r, p, _| data_gb(r, p.tokens)),
        (format!("{}× more compute: N ×", trim(k)), |_, p, k| {
            format!("{:.2}", p.law.growth(k).0)
        }),
        ("                   D ×".into(), |_, p, k| {
            format!("{:.2}", p.law.growth(k).1)
        }),
    ];
    for (label, cell) in rows {
        let mut row = vec![label];
        row.extend(r.points.iter().map(|p| cell(r, p, k)));
        l.rows.push(row);
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::scaling::tests::seven_b;
    use crate::estimate::{Source, Sourced};
    use crate::output::tests::line;

    #[test]
    fn seven_b_needs_140b_tokens_and_560_gb() {
        let text = text(&seven_b());
        assert!(
            text.starts_with("Data for the model (Chinchilla rule: 20 tokens per parameter)"),
            "{text}"
        );
        assert!(
            line(&text, "training tokens").contains("140.00 B tokens"),
            "{text}"
        );
        let disk = line(&text, "data on disk");
        assert!(
            disk.contains("560 GB") && disk.contains("4 bytes/token"),
            "{disk}"
        );
        assert!(
            text.contains("Compute-optimal data for this size, by law"),
            "{text}"
        );
        let n = line(&text, "10× more compute: N ×");
        assert!(n.contains("3.16") && n.contains("5.37"), "{n}");
        assert!(text.contains("Growth factor 10 (default)."), "{text}");
    }

    #[test]
    fn a_budget_titles_the_laws_and_skips_the_model_data() {
        let r = ScaleReport::of(
            Given::Compute(1e23),
            Sourced::new(2.0, Source::Given),
            Sourced::new(2.5, Source::Given),
            None,
        );
        let text = text(&r);
        assert!(
            text.starts_with("Compute-optimal size for 1.000e23 FLOPs (1,157.4 PF-days, given)"),
            "{text}"
        );
        assert!(!text.contains("Data for the model"), "{text}");
        assert!(
            line(&text, "2.5× more compute: N ×").contains("1.58"),
            "{text}"
        );
        assert!(text.contains("Growth factor 2.5 (given)."), "{text}");
    }
}
