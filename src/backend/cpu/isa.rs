//! Which of the gemm crate's kernels runs on this CPU, and the peak that follows from it.
//!
//! The gemm crate picks its microkernels once, at run time: with its `x86-v4` feature (on in
//! Cargo.toml) it runs the AVX-512 kernels where the CPU has `avx512f`, else the AVX2/FMA
//! kernels where it has `fma`, else scalar code. [`Isa::detect`] repeats those checks, so a
//! profile names the instruction set that really ran, not merely the widest the CPU has.
//!
//! The peak is `cores × clock × FLOPs per cycle`. The clock and the FMA rate come from a short
//! probe ([`super::probe`]); the FMA rate is rounded to a whole power-of-two number of FMA
//! instructions per cycle ([`fma_issue_per_cycle`]), which is what a core can do: one 512-bit
//! FMA per cycle on cores that split AVX-512 into two 256-bit halves, two on cores with two
//! full-width units. The arithmetic here is pure and unit-tested.

use crate::dtype::DType;

/// The instruction set of the gemm crate's kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// 512-bit AVX-512F kernels (x86-64).
    Avx512f,
    /// 256-bit AVX2 + FMA kernels (x86-64).
    Avx2Fma,
    /// 128-bit NEON kernels (aarch64).
    Neon,
    /// Plain scalar code.
    Scalar,
}

impl Isa {
    /// The kernels the gemm crate dispatches to on this CPU, by the same checks it makes
    /// (gemm-common 0.19, `init_gemm_fn`): `avx512f` (its `x86-v4` feature is on), else `fma`,
    /// else scalar; NEON on aarch64.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                Isa::Avx512f
            } else if std::arch::is_x86_feature_detected!("fma") {
                Isa::Avx2Fma
            } else {
                Isa::Scalar
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if std::arch::is_aarch64_feature_detected!("neon") {
                Isa::Neon
            } else {
                Isa::Scalar
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            Isa::Scalar
        }
    }

    /// The name profiles record: `avx512f`, `avx2+fma`, `neon` or `scalar`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512f => "avx512f",
            Isa::Avx2Fma => "avx2+fma",
            Isa::Neon => "neon",
            Isa::Scalar => "scalar",
        }
    }

    /// fp32 elements per vector register (1 for scalar code).
    pub fn fp32_lanes(self) -> u32 {
        match self {
            Isa::Avx512f => 16,
            Isa::Avx2Fma => 8,
            Isa::Neon => 4,
            Isa::Scalar => 1,
        }
    }

    /// Elements of `dtype`'s arithmetic per vector register. fp16 is widened to fp32 by the
    /// gemm crate's x86 kernels, so it runs at the fp32 rate; NEON with the fp16 extension
    /// would be faster, so on aarch64 fp16 gets no figure rather than a wrong one.
    pub fn lanes(self, dtype: DType) -> Option<u32> {
        match (dtype, self) {
            (DType::Fp32, _) => Some(self.fp32_lanes()),
            (DType::Fp64, Isa::Scalar) => Some(1),
            (DType::Fp64, _) => Some(self.fp32_lanes() / 2),
            (DType::Fp16, Isa::Neon) => None,
            (DType::Fp16, _) => Some(self.fp32_lanes()),
            _ => None,
        }
    }
}

/// FMA instructions (for scalar code: multiply-add pairs) per cycle per core, from a measured
/// fp32 rate in FLOPs per cycle: `flops / (2 × lanes)`, rounded to the nearest power of two
/// between ½ and 4 (on a log scale). `None` for a rate that is not positive and finite.
pub fn fma_issue_per_cycle(fp32_flops_per_cycle: f64, isa: Isa) -> Option<f64> {
    if !(fp32_flops_per_cycle.is_finite() && fp32_flops_per_cycle > 0.0) {
        return None;
    }
    let issue = fp32_flops_per_cycle / (2.0 * isa.fp32_lanes() as f64);
    Some(2f64.powf(issue.log2().round().clamp(-1.0, 2.0)))
}

/// What the probe measured on this machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// Cores that ran the probe at once (one thread per physical core).
    pub cores: usize,
    /// Clock while all of them ran (MHz), from chains of dependent integer adds.
    pub clock_mhz: f64,
    /// fp32 FLOPs per cycle per core of the kernels' instruction set, from independent FMAs.
    pub fp32_flops_per_cycle: f64,
    /// How long the probe ran (ms).
    pub probe_ms: f64,
}

/// Peak TFLOPS for `dtype` from a measurement: cores × clock × lanes × 2 × FMA/cycle, and the
/// line saying how it was obtained. `None` where the dtype has no figure or a quantity is
/// missing.
pub fn derived_peak(isa: Isa, m: &Measured, dtype: DType) -> Option<(f64, String)> {
    let lanes = isa.lanes(dtype)?;
    let issue = fma_issue_per_cycle(m.fp32_flops_per_cycle, isa)?;
    if m.cores == 0 || !(m.clock_mhz.is_finite() && m.clock_mhz > 0.0) {
        return None;
    }
    let per_cycle = 2.0 * lanes as f64 * issue;
    let tflops = m.cores as f64 * m.clock_mhz * 1e6 * per_cycle / 1e12;
    let kind = if dtype == DType::Fp64 { "fp64" } else { "fp32" };
    let unit = if isa == Isa::Scalar {
        "multiply-add pairs"
    } else {
        "FMA"
    };
    let widened = if dtype == DType::Fp16 {
        ", fp16 widened to fp32"
    } else {
        ""
    };
    let basis = format!(
        "{} cores × {:.0} MHz × {} {kind} FLOPs/cycle ({}: {lanes} lanes × 2 × {} {unit}/cycle{widened}); clock and FMA rate measured ({:.0} ms probe on all cores at once: {:.1} fp32 FLOPs/cycle/core measured)",
        m.cores,
        m.clock_mhz,
        fmt_num(per_cycle),
        isa.name(),
        fmt_num(issue),
        m.probe_ms,
        m.fp32_flops_per_cycle,
    );
    Some((tflops, basis))
}

/// 32 → "32", 0.5 → "0.5".
fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(clock_mhz: f64, fp32_flops_per_cycle: f64) -> Measured {
        Measured {
            cores: 2,
            clock_mhz,
            fp32_flops_per_cycle,
            probe_ms: 60.0,
        }
    }

    #[test]
    fn issue_rate_rounds_to_powers_of_two() {
        // Two full-width AVX-512 units (many Xeon Platinum parts): 64 FLOPs/cycle.
        assert_eq!(fma_issue_per_cycle(61.0, Isa::Avx512f), Some(2.0));
        // AVX-512 split into 256-bit halves (Zen 4): 32 FLOPs/cycle, one zmm FMA per cycle.
        assert_eq!(fma_issue_per_cycle(32.0, Isa::Avx512f), Some(1.0));
        assert_eq!(fma_issue_per_cycle(27.5, Isa::Avx512f), Some(1.0));
        // Two 256-bit FMA units running AVX2.
        assert_eq!(fma_issue_per_cycle(31.0, Isa::Avx2Fma), Some(2.0));
        // Scalar: two multiply-add pairs per cycle.
        assert_eq!(fma_issue_per_cycle(4.1, Isa::Scalar), Some(2.0));
        // Clamped to ½…4.
        assert_eq!(fma_issue_per_cycle(1.0, Isa::Avx512f), Some(0.5));
        assert_eq!(fma_issue_per_cycle(1000.0, Isa::Avx2Fma), Some(4.0));
        assert_eq!(fma_issue_per_cycle(0.0, Isa::Avx2Fma), None);
        assert_eq!(fma_issue_per_cycle(f64::NAN, Isa::Avx2Fma), None);
    }

    #[test]
    fn peak_is_cores_clock_lanes_fma() {
        // 2 cores × 3694 MHz × 16 lanes × 2 × 1 FMA/cycle = 236.4 GFLOPS fp32.
        let m = measured(3694.0, 31.9);
        let (p, basis) = derived_peak(Isa::Avx512f, &m, DType::Fp32).unwrap();
        assert!((p - 2.0 * 3694e6 * 32.0 / 1e12).abs() < 1e-12, "{p}");
        assert!(
            basis.starts_with(
                "2 cores × 3694 MHz × 32 fp32 FLOPs/cycle (avx512f: 16 lanes × 2 × 1 FMA/cycle)"
            ),
            "{basis}"
        );
        assert!(basis.contains("measured"), "{basis}");
        // fp64: half the lanes, same FMA rate.
        let (p64, b64) = derived_peak(Isa::Avx512f, &m, DType::Fp64).unwrap();
        assert!((p64 - p / 2.0).abs() < 1e-12);
        assert!(
            b64.contains("16 fp64 FLOPs/cycle (avx512f: 8 lanes"),
            "{b64}"
        );
        // fp16 runs at the fp32 rate on x86 and says so.
        let (p16, b16) = derived_peak(Isa::Avx512f, &m, DType::Fp16).unwrap();
        assert_eq!(p16, p);
        assert!(b16.contains("fp16 widened to fp32"), "{b16}");
    }

    #[test]
    fn two_units_double_the_peak() {
        let m = measured(2790.0, 63.0);
        let (p, _) = derived_peak(Isa::Avx512f, &m, DType::Fp32).unwrap();
        assert!((p - 2.0 * 2790e6 * 64.0 / 1e12).abs() < 1e-12, "{p}");
    }

    #[test]
    fn scalar_and_missing_figures() {
        let m = measured(3000.0, 4.0);
        let (p, basis) = derived_peak(Isa::Scalar, &m, DType::Fp64).unwrap();
        assert!((p - 2.0 * 3000e6 * 4.0 / 1e12).abs() < 1e-12, "{p}");
        assert!(basis.contains("multiply-add pairs"), "{basis}");
        assert!(derived_peak(Isa::Avx2Fma, &m, DType::Bf16).is_none());
        assert!(derived_peak(Isa::Neon, &m, DType::Fp16).is_none());
        assert!(derived_peak(Isa::Avx2Fma, &measured(0.0, 32.0), DType::Fp32).is_none());
        let no_cores = Measured { cores: 0, ..m };
        assert!(derived_peak(Isa::Avx2Fma, &no_cores, DType::Fp32).is_none());
    }

    #[test]
    fn names_and_lanes() {
        assert_eq!(Isa::Avx512f.name(), "avx512f");
        assert_eq!(Isa::Avx2Fma.name(), "avx2+fma");
        assert_eq!(Isa::Scalar.name(), "scalar");
        assert_eq!(Isa::Avx2Fma.lanes(DType::Fp64), Some(4));
        assert_eq!(Isa::Scalar.lanes(DType::Fp64), Some(1));
    }

    /// The detection above assumes gemm's AVX-512 kernels are compiled in; without the
    /// feature the crate would run AVX2 kernels while profiles said avx512f.
    #[test]
    fn gemm_x86_v4_feature_is_on() {
        let manifest = include_str!("../../../Cargo.toml");
        let line = manifest
            .lines()
            .find(|l| l.starts_with("gemm ="))
            .expect("Cargo.toml depends on gemm");
        assert!(line.contains("\"x86-v4\""), "{line}");
    }
}
