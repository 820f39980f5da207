//! Number formats for everything gpubench prints: one place decides how many digits a
//! figure shows, how thousands are grouped (`1,234,567`) and how units are written, so a
//! table, a note and an export never disagree.

/// Grouped thousands, significant digits and TFLOPS live with the units (every layer needs
/// them); they are re-exported here so every view finds its formats in one place.
pub use crate::units::{sig, tflops, thousands};

/// A figure with exactly the digits it was given (a datasheet's `19.5`, `67`), thousands
/// grouped: `1,978.9`.
pub fn as_given(v: f64) -> String {
    let shown = format!("{v}");
    let decimals = shown.split_once('.').map_or(0, |(_, f)| f.len());
    thousands(v, decimals)
}

/// A fraction as a percentage with 3 significant digits (one decimal at least below 100):
/// `25.6 %`, `0.512 %`, `1,358 %`.
pub fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if p.abs() >= 100.0 || p == 0.0 {
        format!("{} %", thousands(p, 0))
    } else {
        format!("{} %", sig(p, 3))
    }
}

/// Days with 4 significant digits and grouped thousands: `20.82 days`, `167,054 days`,
/// `1 day`.
pub fn days(v: f64) -> String {
    let n = sig(v, 4);
    if n == "1.000" {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

/// A rate or amount with sensible precision: 3 significant figures below 1,000, whole
/// numbers with separators above.
pub fn amount(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        thousands(v, 0)
    } else if a >= 100.0 {
        thousands(v, 1)
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Scientific notation for FLOPs: `5.477e23`.
pub fn sci(v: f64) -> String {
    format!("{v:.3e}")
}

/// A fraction as a percentage: `47.6 %`.
pub fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// Dollars: `$142,790,000`.
pub fn usd(v: f64) -> String {
    format!("${}", thousands(v, 0))
}

/// Signed relative change `b / a − 1`: `+12.3 %`, `−4.0 %`.
pub fn change(a: f64, b: f64) -> String {
    if a == 0.0 || !a.is_finite() || !b.is_finite() {
        return String::new();
    }
    let r = (b / a - 1.0) * 100.0;
    if r.abs() < 0.05 {
        "same".to_string()
    } else if r > 0.0 {
        format!("+{r:.1} %")
    } else {
        format!("−{:.1} %", -r)
    }
}

/// A profile's `created_utc` stamp (`2026-12-01T23:06:15Z`) for people:
/// `2026-12-01 23:06:15 UTC`. Other text is returned unchanged.
pub fn utc_stamp(stamp: &str) -> String {
    match stamp.strip_suffix('Z') {
        Some(s) if s.contains('T') => format!("{} UTC", s.replacen('T', " ", 1)),
        _ => stamp.to_string(),
    }
}

/// Greedy word wrap of `text` to `width` columns; lines after the first start with
/// `indent`. A word longer than a line stays whole on its own line, and a short unit stays
/// with its number (`0.05 s`, `25 %`).
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for w in text.split_whitespace() {
        match words.last_mut() {
            Some(prev)
                if w.chars().count() <= 2 && prev.ends_with(|c: char| c.is_ascii_digit()) =>
            {
                prev.push(' ');
                prev.push_str(w);
            }
            _ => words.push(w.to_string()),
        }
    }
    let mut out = String::new();
    let mut line = String::new();
    for word in &words {
        let len = line.chars().count();
        let add = word.chars().count();
        let fresh = line.is_empty() || line == indent;
        if !fresh && len + 1 + add > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.to_string();
        }
        if !(line.is_empty() || line == indent) {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(line.trim_end());
    out
}

/// `line` as it is when it fits `width` columns; otherwise broken at the last space that
/// fits, its first line kept as written (so aligned columns stay aligned), the rest
/// word-wrapped with a hanging indent of two spaces past the line's own leading spaces. A short
/// unit stays with its number, as in [`wrap`].
pub fn fit_line(line: &str, width: usize) -> String {
    if line.chars().count() <= width {
        return line.to_string();
    }
    let lead = &line[..line.len() - line.trim_start().len()];
    let chars: Vec<char> = line.chars().collect();
    let start = lead.chars().count();
    // The last space within the width that ends a word, where the next word is not a short
    // unit of the number before it.
    let unit_after = |p: usize| {
        let next: String = chars[p + 1..]
            .iter()
            .take_while(|c| !c.is_whitespace())
            .collect();
        !next.is_empty() && next.chars().count() <= 2 && chars[p - 1].is_ascii_digit()
    };
    let cut = (start + 1..=width.min(chars.len() - 1))
        .rev()
        .find(|&p| chars[p] == ' ' && chars[p - 1] != ' ' && !unit_after(p));
    let Some(cut) = cut else {
        // One word longer than the line: wrap it all.
        return wrap(line.trim_start(), width.saturating_sub(lead.len()), "  ")
            .lines()
            .map(|l| format!("{lead}{l}"))
            .collect::<Vec<_>>()
            .join("\n");
    };
    let first: String = chars[..cut].iter().collect();
    let rest: String = chars[cut..].iter().collect();
    let indent = format!("{lead}  ");
    let mut out = first.trim_end().to_string();
    for l in wrap(rest.trim(), width.saturating_sub(indent.len()), "").lines() {
        out.push('\n');
        out.push_str(&indent);
        out.push_str(l);
    }
    out
}

/// Every line of `text` through [`fit_line`] (a trailing newline kept).
pub fn fit_text(text: &str, width: usize) -> String {
    let mut out: String = text
        .lines()
        .map(|l| fit_line(l, width))
        .collect::<Vec<_>>()
        .join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_as_given() {
        assert_eq!(as_given(1978.9), "1,978.9");
        assert_eq!(as_given(19.5), "19.5");
        assert_eq!(as_given(67.0), "67");
    }

    #[test]
    fn percents_and_days() {
        assert_eq!(percent(0.256), "25.6 %");
        assert_eq!(percent(13.58), "1,358 %");
        assert_eq!(percent(0.00512), "0.512 %");
        assert_eq!(days(167_054.05), "167,054 days");
        assert_eq!(days(20.8234), "20.82 days");
        assert_eq!(days(1.0), "1 day");
    }

    #[test]
    fn stamps_say_utc_once() {
        assert_eq!(utc_stamp("2026-12-01T23:06:15Z"), "2026-12-01 23:06:15 UTC");
        assert_eq!(utc_stamp("yesterday"), "yesterday");
    }

    #[test]
    fn wrapping() {
        let w = wrap("aaa bbb ccc ddd", 8, "  ");
        assert_eq!(w, "aaa bbb\n  ccc\n  ddd");
        assert!(wrap(&"word ".repeat(50), 30, "")
            .lines()
            .all(|l| l.len() <= 30));
        assert_eq!(
            wrap("averyveryverylongword x", 5, ""),
            "averyveryverylongword\nx"
        );
        assert_eq!(
            wrap("after 0.05 s warm-up", 10, ""),
            "after\n0.05 s\nwarm-up"
        );
    }

    #[test]
    fn long_lines_wrap_with_a_hanging_indent() {
        assert_eq!(fit_line("  short", 10), "  short");
        assert_eq!(fit_line("note: aaa bbb ccc", 10), "note: aaa\n  bbb ccc");
        assert_eq!(
            fit_line("  x: aaa bbb ccc", 10),
            "  x: aaa\n    bbb\n    ccc"
        );
        let long = format!("warning: {}", "word ".repeat(60));
        let fitted = fit_text(&format!("{long}\nok\n"), 100);
        assert!(fitted.lines().all(|l| l.chars().count() <= 100), "{fitted}");
        assert!(fitted.ends_with("\nok\n"), "{fitted}");
        assert_eq!(fitted.split_whitespace().count(), 62);
        // The first line keeps its columns; a unit stays with its number.
        assert_eq!(
            fit_line("key        value one two", 20),
            "key        value one\n  two"
        );
        assert_eq!(fit_line("took 12 ms", 8), "took\n  12 ms");
    }

    #[test]
    fn planning_formats() {
        assert_eq!(thousands(1_023_410.4, 0), "1,023,410");
        assert_eq!(thousands(142_790_000.0, 0), "142,790,000");
        assert_eq!(thousands(999.0, 0), "999");
        assert_eq!(thousands(-1234.5, 1), "-1,234.5");
        assert_eq!(thousands(-0.01, 0), "0");
        assert_eq!(usd(142_790_000.0), "$142,790,000");
        assert_eq!(pct(0.4765), "47.6 %");
        assert_eq!(sci(5.4768e23), "5.477e23");
        assert_eq!(amount(380.0), "380.0");
        assert_eq!(amount(778_240.0), "778,240");
        assert_eq!(amount(20.8234), "20.82");
        assert_eq!(change(100.0, 112.3), "+12.3 %");
        assert_eq!(change(100.0, 96.0), "−4.0 %");
        assert_eq!(change(100.0, 100.0), "same");
    }
}
