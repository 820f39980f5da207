//! Parsing the numbers of the planning commands, each failure a one-line usage error naming
//! the flag: counts with suffixes (via [`crate::units::parse_count`]), utilizations in
//! (0, 1] (or a percentage), non-negative amounts and dollar figures.

use crate::error::usage;
use crate::units::parse_count;

/// A positive count: `65e9`, `65B`, `1.4T`, `6.5M`, `10,830`.
pub fn count(s: &str, flag: &str) -> anyhow::Result<f64> {
    let v = parse_count(s, flag)?;
    if let Some((lo, hi, what)) = physical_range(flag) {
        if v < lo || v > hi {
            return Err(usage(format!(
                "{flag}: '{s}' is outside {lo:e}..{hi:e} {what}; give a realistic value"
            )));
        }
    }
    Ok(v)
}

/// The range of values a count flag can physically take, with what bounds it; beyond it the
/// results overflow or describe nothing real (`--params 1e308` gave `inf` FLOPs, `--days
/// 1e-300` a 300-digit GPU count).
pub fn physical_range(flag: &str) -> Option<(f64, f64, &'static str)> {
    Some(match flag {
        "--params" => (
            1.0,
            1e15,
            "parameters (a thousand times today's largest models)",
        ),
        "--tokens" | "--dataset-tokens" => (1.0, 1e17, "tokens"),
        "--flops" | "--compute" => (1.0, 1e33, "FLOPs"),
        "--days" => (1e-3, 36_500.0, "days (about 90 seconds to a century)"),
        "--gpu-hours" => (1e-3, 1e12, "GPU-hours"),
        "--seq-len" | "--seq" => (1.0, 1e8, "tokens per sequence"),
        "--micro-batch" => (1.0, 1e6, "sequences"),
        "--layers" | "--heads" => (1.0, 1e5, ""),
        "--hidden" => (1.0, 1e7, ""),
        "--peak-tflops" | "--measured-tflops" | "--achieved-tflops" => (1e-6, 1e6, "TFLOPS"),
        "--tokens-per-sec-per-gpu" => (1e-6, 1e9, "tokens/s"),
        "--power-watts" => (1e-3, 1e6, "W per GPU"),
        "--device-memory-gb" => (1e-3, 1e6, "GB"),
        "--bytes-per-token" => (1e-3, 1e6, "bytes"),
        "--growth" => (1e-6, 1e6, "times"),
        _ => return None,
    })
}

/// An optional positive count.
pub fn opt_count(s: &Option<String>, flag: &str) -> anyhow::Result<Option<f64>> {
    s.as_deref().map(|v| count(v, flag)).transpose()
}

/// A utilization in (0, 1]: `0.45` or `45%`.
pub fn utilization(s: &str, flag: &str) -> anyhow::Result<f64> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 0.01),
        None => (t, 1.0),
    };
    let v = num.parse::<f64>().map(|v| v * scale).map_err(|_| {
        usage(format!(
            "{flag}: '{s}' is not a number; give a fraction such as 0.45 or a percentage such as 45%"
        ))
    })?;
    if !(v.is_finite() && v > 0.0 && v <= 1.0) {
        return Err(usage(format!(
            "{flag}: '{s}' must be a utilization in (0, 1], such as 0.45 (45 %)"
        )));
    }
    Ok(v)
}

/// An optional utilization.
pub fn opt_utilization(s: &Option<String>, flag: &str) -> anyhow::Result<Option<f64>> {
    s.as_deref().map(|v| utilization(v, flag)).transpose()
}

/// A number that may be zero (a fraction of cost, a staff budget): `0`, `0.2`, `2M`, `$2,000,000`.
pub fn non_negative(s: &str, flag: &str) -> anyhow::Result<f64> {
    let t = s.trim().trim_start_matches('$');
    if let Ok(v) = t.parse::<f64>() {
        if v == 0.0 {
            return Ok(0.0);
        }
    }
    parse_count(t, flag).map_err(|_| {
        usage(format!(
            "{flag}: '{s}' must be a number of zero or more, such as 0.2 or 2M"
        ))
    })
}

/// A positive dollar amount: `2.5`, `$10,000`, `10k`.
pub fn money(s: &str, flag: &str) -> anyhow::Result<f64> {
    parse_count(s.trim().trim_start_matches('$'), flag)
}

/// An optional positive dollar amount.
pub fn opt_money(s: &Option<String>, flag: &str) -> anyhow::Result<Option<f64>> {
    s.as_deref().map(|v| money(v, flag)).transpose()
}

/// A whole number of GPUs (`2048`, `10,830`, `2k`), at least one and at most a billion.
pub fn gpus(s: &str, flag: &str) -> anyhow::Result<u64> {
    let v = parse_count(s, flag)?;
    if v.fract() != 0.0 || v > 1e9 {
        return Err(usage(format!(
            "{flag}: '{s}' must be a whole number of GPUs, such as 2048"
        )));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::is_usage;

    #[test]
    fn utilizations() {
        assert_eq!(utilization("0.5", "--mfu").unwrap(), 0.5);
        assert_eq!(utilization("1", "--mfu").unwrap(), 1.0);
        assert!((utilization("47.6%", "--mfu").unwrap() - 0.476).abs() < 1e-12);
        for bad in ["0", "-0.1", "1.01", "NaN", "inf", "x", "120%", ""] {
            let e = utilization(bad, "--mfu").unwrap_err();
            assert!(is_usage(&e), "{bad}");
            assert!(e.to_string().starts_with("--mfu: "), "{e}");
        }
    }

    #[test]
    fn amounts() {
        assert_eq!(non_negative("0", "--staff-cost").unwrap(), 0.0);
        assert_eq!(non_negative("$2,000,000", "--staff-cost").unwrap(), 2e6);
        assert_eq!(non_negative("2M", "--staff-cost").unwrap(), 2e6);
        assert!(non_negative("-1", "--staff-cost").is_err());
        assert_eq!(money("$10,000", "--gpu-price").unwrap(), 1e4);
        assert!(money("0", "--gpu-price").is_err());
        assert_eq!(gpus("10,830", "--gpus").unwrap(), 10830);
        assert!(gpus("2.5", "--gpus").is_err());
        assert!(gpus("0", "--gpus").is_err());
    }
}
