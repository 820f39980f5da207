//! Parsing and printing quantities the way people write them, so `65B` and `1.4T` are accepted
//! and figures print with units: counts with suffixes, bytes, durations, grouped thousands,
//! significant digits and TFLOPS.
//!
//! A leaf: every layer may format a number through it (a provenance note of an estimate, a
//! duration in a measuring message) without reaching up into the terminal views of
//! [`crate::output`], which re-exports these formats beside its own.

use crate::error::usage;

/// Parses a positive, finite number that may carry a suffix: `k`/`K` (1e3), `M` (1e6),
/// `B`/`G` (1e9), `T` (1e12), `P` (1e15), or scientific notation (`65e9`). Underscores and
/// commas are ignored (`1_000`, `10,830`). `what` names the flag for the error message.
pub fn parse_count(s: &str, what: &str) -> anyhow::Result<f64> {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| *c != '_' && *c != ',')
        .collect();
    if t.is_empty() {
        return Err(usage(format!(
            "{what}: empty value; give a number such as 65e9 or 65B"
        )));
    }
    let (num, mult) = match t.chars().last().unwrap() {
        'k' | 'K' => (&t[..t.len() - 1], 1e3),
        'm' | 'M' => (&t[..t.len() - 1], 1e6),
        'b' | 'B' | 'g' | 'G' => (&t[..t.len() - 1], 1e9),
        't' | 'T' => (&t[..t.len() - 1], 1e12),
        'p' | 'P' => (&t[..t.len() - 1], 1e15),
        _ => (t.as_str(), 1.0),
    };
    let v: f64 = num.parse().map_err(|_| {
        usage(format!(
            "{what}: '{s}' is not a number; give a value such as 65e9, 65B, 1.4T or 6.5M"
        ))
    })?;
    let v = v * mult;
    if !v.is_finite() {
        return Err(usage(format!("{what}: '{s}' is not a finite number")));
    }
    if v <= 0.0 {
        return Err(usage(format!("{what}: '{s}' must be greater than zero")));
    }
    Ok(v)
}

/// Parses a matrix dimension: a whole number from 1 to 2^31 - 1 (cuBLAS takes 32-bit sizes).
pub fn parse_dim(s: &str) -> anyhow::Result<u64> {
    let t = s.trim();
    let v: i128 = t.parse().map_err(|_| {
        usage(format!(
            "'{s}' is not a size; give a positive whole number such as 4096"
        ))
    })?;
    if v <= 0 {
        return Err(usage(format!(
            "'{s}' must be a positive whole number such as 4096"
        )));
    }
    if v > i32::MAX as i128 {
        return Err(usage(format!(
            "'{s}' is larger than cuBLAS's limit of {}",
            i32::MAX
        )));
    }
    Ok(v as u64)
}

/// Formats bytes with a binary unit (`1.50 GiB`).
pub fn fmt_bytes(b: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b;
    let mut i = 0;
    while v.abs() >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} {}", UNITS[i])
    } else {
        format!("{v:.2} {}", UNITS[i])
    }
}

/// Formats a count with an SI suffix (`6.50e9` → `6.50 B`).
pub fn fmt_count(v: f64) -> String {
    let a = v.abs();
    let (d, s) = if a >= 1e15 {
        (1e15, " P")
    } else if a >= 1e12 {
        (1e12, " T")
    } else if a >= 1e9 {
        (1e9, " B")
    } else if a >= 1e6 {
        (1e6, " M")
    } else if a >= 1e3 {
        (1e3, " k")
    } else {
        (1.0, "")
    };
    if d == 1.0 {
        format!("{v:.0}")
    } else {
        format!("{:.2}{s}", v / d)
    }
}

/// Formats seconds for people with 4 significant digits (`373.0 ns`, `850.0 µs`, `12.50 ms`,
/// `3.200 s`), numbers from [`sig`].
pub fn fmt_seconds(s: f64) -> String {
    let (v, unit) = if s != 0.0 && s.abs() < 1e-6 {
        (s * 1e9, "ns")
    } else if s.abs() < 1e-3 {
        (s * 1e6, "µs")
    } else if s.abs() < 1.0 {
        (s * 1e3, "ms")
    } else {
        (s, "s")
    };
    // Rounding up to the next unit (999.96 µs) reads better in that unit.
    let text = sig(v, 4);
    if text == "1,000" || text == "1,000.0" {
        let next: f64 = match unit {
            "ns" => 1e-6,
            "µs" => 1e-3,
            _ => 1.0,
        };
        return fmt_seconds(next.max(s));
    }
    format!("{text} {unit}")
}

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

/// TFLOPS (or any throughput): 4 significant digits below 100 (`12.34`, `0.07914`), one
/// decimal above (`812.3`, `1,979.0`).
pub fn tflops(v: f64) -> String {
    if v.abs() >= 100.0 {
        thousands(v, 1)
    } else {
        sig(v, 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_with_suffixes() {
        assert_eq!(parse_count("65e9", "--params").unwrap(), 65e9);
        assert_eq!(parse_count("65B", "--params").unwrap(), 65e9);
        assert_eq!(parse_count("1.4T", "--tokens").unwrap(), 1.4e12);
        assert_eq!(parse_count("6.5M", "--params").unwrap(), 6.5e6);
        assert_eq!(parse_count("10,830", "--gpus").unwrap(), 10830.0);
        for bad in ["0", "-3", "NaN", "inf", "abc", "", "1.4X"] {
            let e = parse_count(bad, "--params").unwrap_err();
            assert!(crate::error::is_usage(&e), "{bad}");
            assert!(e.to_string().starts_with("--params"), "{e}");
        }
    }

    #[test]
    fn dims() {
        assert_eq!(parse_dim("4096").unwrap(), 4096);
        for bad in ["0", "-1", "abc", "1.5", "99999999999"] {
            assert!(parse_dim(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.50 GiB");
        assert_eq!(fmt_count(6.5e9), "6.50 B");
        assert_eq!(fmt_seconds(0.0125), "12.50 ms");
        assert_eq!(fmt_seconds(0.102599), "102.6 ms");
        assert_eq!(fmt_seconds(14.1e-6), "14.10 µs");
        assert_eq!(fmt_seconds(3.73e-10), "0.3730 ns");
        assert_eq!(fmt_seconds(2.212e-9), "2.212 ns");
        assert_eq!(fmt_seconds(999.99e-9), "1.000 µs");
        assert_eq!(fmt_seconds(3.2), "3.200 s");
        assert_eq!(fmt_seconds(0.99996), "1.000 s");
        assert_eq!(fmt_seconds(4000.0), "4,000 s");
    }

    #[test]
    fn grouped_thousands() {
        assert_eq!(thousands(1_023_410.4, 0), "1,023,410");
        assert_eq!(thousands(999.0, 0), "999");
        assert_eq!(thousands(-1234.5, 1), "-1,234.5");
        assert_eq!(thousands(-0.01, 0), "0");
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
}
