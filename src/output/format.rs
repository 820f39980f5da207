//! Number formats for everything gpubench prints: one place decides how many digits a
//! figure shows, how thousands are grouped (`1,234,567`) and how units are written, so a
//! table, a note and an export never disagree.

/// `v` with `decimals` decimals and thousands separators: `1,023,410`, `2,638.0`.
pub fn thousands(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), format!(".{f}")),
        None => (s.clone(), String::new()),
    };
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}{frac}")
}

/// At least `digits` significant digits, never cutting the integer part, with thousands
/// separators: `sig(0.07914, 3)` = `0.0791`, `sig(12.345, 3)` = `12.3`,
/// `sig(167054.05, 3)` = `167,054`. Zero is `0`; very small values are cut at 12 decimals.
pub fn sig(v: f64, digits: u32) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (digits as i32 - 1 - magnitude).clamp(0, 12) as usize;
    // Rounding can carry into a new digit (9.996 → 10.00): one decimal fewer then.
    let s = thousands(v, decimals);
    let rounded_magnitude = format!("{:.*}", decimals, v.abs())
        .parse::<f64>()
        .map(|r| r.log10().floor() as i32)
        .unwrap_or(magnitude);
    if rounded_magnitude > magnitude && decimals > 0 {
        thousands(v, decimals - 1)
    } else {
        s
    }
}

/// A figure with exactly the digits it was given (a datasheet's `19.5`, `67`), thousands
/// grouped: `1,978.9`.
pub fn as_given(v: f64) -> String {
    let shown = format!("{v}");
    let decimals = shown.split_once('.').map_or(0, |(_, f)| f.len());
    thousands(v, decimals)
}

/// TFLOPS (or any throughput): 4 significant digits below 100 (`12.34`, `0.07914`), one
/// decimal above (`812.3`, `1,979.0`).
pub fn tflops(v: f64) -> String {
    if v.abs() >= 100.0 {
        thousands(v, 1)
    } else {
        sig(v, 4)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_thousands() {
        assert_eq!(thousands(1_023_410.4, 0), "1,023,410");
        assert_eq!(thousands(999.0, 0), "999");
        assert_eq!(thousands(-1234.5, 1), "-1,234.5");
        assert_eq!(thousands(-0.01, 0), "0");
    }

    #[test]
    fn figures_as_given() {
        assert_eq!(as_given(1978.9), "1,978.9");
        assert_eq!(as_given(19.5), "19.5");
        assert_eq!(as_given(67.0), "67");
    }

    #[test]
    fn significant_digits() {
        assert_eq!(sig(0.0791, 3), "0.0791");
        assert_eq!(sig(0.07914, 3), "0.0791");
        assert_eq!(sig(12.345, 3), "12.3");
        assert_eq!(sig(167_054.05, 3), "167,054");
        assert_eq!(sig(9.996, 3), "10.0");
        assert_eq!(sig(0.0, 3), "0");
        assert_eq!(sig(-0.5, 2), "-0.50");
    }

    #[test]
    fn small_tflops_keep_their_digits() {
        // 0.0791 TFLOPS used to print as 0.1 and 0.0.
        assert_eq!(tflops(0.0791), "0.07910");
        assert_eq!(tflops(812.34), "812.3");
        assert_eq!(tflops(12.346), "12.35");
        assert_eq!(tflops(1979.0), "1,979.0");
        assert_eq!(tflops(99.996), "100.0");
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
}
