//! Parsing the numbers of the planning commands, each failure a one-line usage error naming
//! the flag: counts with suffixes (via [`crate::units::parse_count`]) within the physical
//! range of what they count ([`Quantity`]), utilizations in (0, 1] (or a percentage),
//! non-negative amounts, dollar figures and GPU counts.

use crate::error::usage;
use crate::units::parse_count;

/// What a planning number counts; each has the range of values it can physically take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Model parameters N.
    Params,
    /// Training or dataset tokens D.
    Tokens,
    /// Training compute C in FLOPs.
    Flops,
    /// A deadline in days.
    Days,
    /// Total GPU-hours.
    GpuHours,
    /// Tokens per sequence.
    SeqLen,
    /// Sequences per micro-batch.
    MicroBatch,
    /// Transformer layers.
    Layers,
    /// Attention heads.
    Heads,
    /// Hidden size.
    Hidden,
    /// A throughput per GPU in TFLOPS (a peak, measured or achieved).
    Tflops,
    /// Tokens per second per GPU.
    TokensPerSec,
    /// Power per GPU in watts.
    PowerWatts,
    /// Memory per GPU in GB.
    MemoryGb,
    /// Bytes of tokenized data per token.
    BytesPerToken,
    /// A factor of growth.
    Growth,
}

impl Quantity {
    /// Every quantity, for checks that go through them all.
    pub const ALL: [Quantity; 16] = [
        Self::Params,
        Self::Tokens,
        Self::Flops,
        Self::Days,
        Self::GpuHours,
        Self::SeqLen,
        Self::MicroBatch,
        Self::Layers,
        Self::Heads,
        Self::Hidden,
        Self::Tflops,
        Self::TokensPerSec,
        Self::PowerWatts,
        Self::MemoryGb,
        Self::BytesPerToken,
        Self::Growth,
    ];

    /// The least and greatest value, and what bounds them (the unit, or why the bound); beyond
    /// it the results overflow or describe nothing real (`--params 1e308` gave `inf` FLOPs,
    /// `--days 1e-300` a 300-digit GPU count).
    pub fn range(self) -> (f64, f64, &'static str) {
        match self {
            Quantity::Params => (
                1.0,
                1e15,
                "parameters (a thousand times today's largest models)",
            ),
            Quantity::Tokens => (1.0, 1e17, "tokens"),
            Quantity::Flops => (1.0, 1e33, "FLOPs"),
            Quantity::Days => (1e-3, 36_500.0, "days (about 90 seconds to a century)"),
            Quantity::GpuHours => (1e-3, 1e12, "GPU-hours"),
            Quantity::SeqLen => (1.0, 1e8, "tokens per sequence"),
            Quantity::MicroBatch => (1.0, 1e6, "sequences"),
            Quantity::Layers | Quantity::Heads => (1.0, 1e5, ""),
            Quantity::Hidden => (1.0, 1e7, ""),
            Quantity::Tflops => (1e-6, 1e6, "TFLOPS"),
            Quantity::TokensPerSec => (1e-6, 1e9, "tokens/s"),
            Quantity::PowerWatts => (1e-3, 1e6, "W per GPU"),
            Quantity::MemoryGb => (1e-3, 1e6, "GB"),
            Quantity::BytesPerToken => (1e-3, 1e6, "bytes"),
            Quantity::Growth => (1e-6, 1e6, "times"),
        }
    }
}

/// A positive count: `65e9`, `65B`, `1.4T`, `6.5M`, `10,830`.
pub fn positive(s: &str, flag: &str) -> anyhow::Result<f64> {
    parse_count(s, flag)
}

/// A positive count within the physical range of `quantity` (`flag` names it in errors).
pub fn count(s: &str, flag: &str, quantity: Quantity) -> anyhow::Result<f64> {
    let v = parse_count(s, flag)?;
    let (lo, hi, what) = quantity.range();
    if v < lo || v > hi {
        return Err(usage(format!(
            "{flag}: '{s}' is outside {lo:e}..{hi:e} {what}; give a realistic value"
        )));
    }
    Ok(v)
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
    fn counts_stay_in_their_quantitys_range() {
        use Quantity::*;
        assert_eq!(count("65B", "--params", Params).unwrap(), 65e9);
        let e = count("1e20", "--params", Params).unwrap_err();
        assert!(is_usage(&e));
        assert_eq!(
            e.to_string(),
            "--params: '1e20' is outside 1e0..1e15 parameters (a thousand times today's largest models); give a realistic value"
        );
        assert_eq!(
            count("2e5", "--layers", Layers).unwrap_err().to_string(),
            "--layers: '2e5' is outside 1e0..1e5 ; give a realistic value"
        );
        assert_eq!(count("0.001", "--days", Days).unwrap(), 1e-3);
        assert!(count("0.0009", "--days", Days).is_err());
        assert!(count("0", "--tokens", Tokens)
            .unwrap_err()
            .to_string()
            .contains("greater than zero"));
        for q in Quantity::ALL {
            let (lo, hi, _) = q.range();
            assert!(0.0 < lo && lo < hi && hi.is_finite(), "{q:?}");
            assert_eq!(count(&format!("{lo:e}"), "--x", q).unwrap(), lo, "{q:?}");
            assert_eq!(count(&format!("{hi:e}"), "--x", q).unwrap(), hi, "{q:?}");
            assert!(
                count(&format!("{:e}", hi * 10.0), "--x", q).is_err(),
                "{q:?}"
            );
            assert!(
                count(&format!("{:e}", lo / 10.0), "--x", q).is_err(),
                "{q:?}"
            );
        }
        // Without a quantity only the sign is checked.
        assert_eq!(positive("1e300", "--pue").unwrap(), 1e300);
        assert!(positive("0", "--pue").is_err());
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
