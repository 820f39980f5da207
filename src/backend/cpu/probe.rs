//! A short measurement of the clock and the FMA rate, so the CPU's peak is measured rather
//! than assumed: virtual machines rarely expose cpufreq, and the number of FMA units per core
//! (one or two, full-width or split) is not in CPUID.
//!
//! One thread per core runs, all at once, short trials of two kinds: a chain of dependent
//! integer adds (one per cycle on every x86-64 core, so adds per second is the clock) and
//! sixteen independent FMA chains in the instruction set the gemm crate's kernels use (FMAs
//! per second). Other processes on the machine only ever make a trial slower, so each thread
//! keeps its fastest trial of each kind. About 60 ms in all.

use std::time::{Duration, Instant};

use super::isa::{Isa, Measured};

/// How long the probe runs.
const PROBE_TIME: Duration = Duration::from_millis(60);
/// Trials each thread runs at least, however long they take.
const MIN_TRIALS: usize = 8;

/// Measures the clock and FMA rate with `cores` threads at once; `None` where this
/// architecture has no probe (only x86-64 has one) or a thread failed.
pub fn measure(isa: Isa, cores: usize) -> Option<Measured> {
    let cores = cores.max(1);
    let start = Instant::now();
    let per_thread: Vec<Option<(f64, f64)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|_| s.spawn(move || thread_probe(isa)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let probe_ms = start.elapsed().as_secs_f64() * 1e3;
    let per_thread: Vec<(f64, f64)> = per_thread.into_iter().collect::<Option<_>>()?;
    let n = per_thread.len() as f64;
    let clock_hz = per_thread.iter().map(|(c, _)| c).sum::<f64>() / n;
    let flops_per_cycle = per_thread.iter().map(|(c, f)| f / c).sum::<f64>() / n;
    Some(Measured {
        cores,
        clock_mhz: clock_hz / 1e6,
        fp32_flops_per_cycle: flops_per_cycle,
        probe_ms,
    })
}

/// One thread's fastest clock (Hz) and fp32 FMA rate (FLOP/s).
fn thread_probe(isa: Isa) -> Option<(f64, f64)> {
    let (mut clock, mut flops) = (0f64, 0f64);
    let start = Instant::now();
    let mut trials = 0;
    while trials < MIN_TRIALS || start.elapsed() < PROBE_TIME {
        clock = clock.max(kernels::clock_hz()?);
        flops = flops.max(kernels::fp32_flops(isa)?);
        trials += 1;
    }
    (clock > 0.0 && flops > 0.0).then_some((clock, flops))
}

#[cfg(target_arch = "x86_64")]
mod kernels {
    use std::arch::asm;
    use std::time::Instant;

    use super::Isa;

    /// Loop iterations of each trial: ~0.1 ms of adds, ~0.05-0.1 ms of FMAs at 3-4 GHz.
    const ADD_ITERS: u64 = 25_000;
    const FMA_ITERS: u64 = 10_000;
    /// Instructions in each loop body (the loop counter runs on another port).
    const UNROLL: u64 = 16;

    /// Cycles per second, from a chain of dependent adds (latency one cycle).
    pub fn clock_hz() -> Option<f64> {
        let t = Instant::now();
        let mut x: u64 = 0;
        // SAFETY: integer arithmetic on two registers the asm declares; no memory access.
        unsafe {
            asm!(
                "2:",
                "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                "dec {i}",
                "jnz 2b",
                x = inout(reg) x,
                i = inout(reg) ADD_ITERS => _,
                options(nomem, nostack),
            );
        }
        std::hint::black_box(x);
        rate((ADD_ITERS * UNROLL) as f64, t)
    }

    /// fp32 FLOP/s of `isa`'s multiply-adds on one core, or `None` if the CPU lacks it.
    pub fn fp32_flops(isa: Isa) -> Option<f64> {
        match isa {
            Isa::Avx512f if std::arch::is_x86_feature_detected!("avx512f") => {
                let t = Instant::now();
                // SAFETY: the CPU has avx512f (checked above).
                unsafe { fma_zmm(FMA_ITERS) };
                rate((FMA_ITERS * UNROLL * 32) as f64, t)
            }
            Isa::Avx2Fma
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma") =>
            {
                let t = Instant::now();
                // SAFETY: the CPU has avx2 and fma (checked above).
                unsafe { fma_ymm(FMA_ITERS) };
                rate((FMA_ITERS * UNROLL * 16) as f64, t)
            }
            Isa::Scalar => {
                let t = Instant::now();
                mul_add_scalar(FMA_ITERS);
                // 7 multiplies and 7 adds per iteration.
                rate((FMA_ITERS * 14) as f64, t)
            }
            _ => None,
        }
    }

    fn rate(count: f64, since: Instant) -> Option<f64> {
        let s = since.elapsed().as_secs_f64();
        (s > 0.0).then(|| count / s)
    }

    /// 16 independent chains of 512-bit FMAs (zeroed first, so no denormals).
    #[target_feature(enable = "avx512f")]
    unsafe fn fma_zmm(iters: u64) {
        // SAFETY: register-only arithmetic; every register written is declared clobbered.
        unsafe {
            asm!(
                "vpxord zmm0, zmm0, zmm0",
                "vmovaps zmm1, zmm0", "vmovaps zmm2, zmm0", "vmovaps zmm3, zmm0", "vmovaps zmm4, zmm0",
                "vmovaps zmm5, zmm0", "vmovaps zmm6, zmm0", "vmovaps zmm7, zmm0", "vmovaps zmm8, zmm0",
                "vmovaps zmm9, zmm0", "vmovaps zmm10, zmm0", "vmovaps zmm11, zmm0", "vmovaps zmm12, zmm0",
                "vmovaps zmm13, zmm0", "vmovaps zmm14, zmm0", "vmovaps zmm15, zmm0", "vmovaps zmm16, zmm0",
                "2:",
                "vfmadd231ps zmm1, zmm0, zmm0", "vfmadd231ps zmm2, zmm0, zmm0",
                "vfmadd231ps zmm3, zmm0, zmm0", "vfmadd231ps zmm4, zmm0, zmm0",
                "vfmadd231ps zmm5, zmm0, zmm0", "vfmadd231ps zmm6, zmm0, zmm0",
                "vfmadd231ps zmm7, zmm0, zmm0", "vfmadd231ps zmm8, zmm0, zmm0",
                "vfmadd231ps zmm9, zmm0, zmm0", "vfmadd231ps zmm10, zmm0, zmm0",
                "vfmadd231ps zmm11, zmm0, zmm0", "vfmadd231ps zmm12, zmm0, zmm0",
                "vfmadd231ps zmm13, zmm0, zmm0", "vfmadd231ps zmm14, zmm0, zmm0",
                "vfmadd231ps zmm15, zmm0, zmm0", "vfmadd231ps zmm16, zmm0, zmm0",
                "dec {i}",
                "jnz 2b",
                i = inout(reg) iters => _,
                out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _, out("zmm4") _,
                out("zmm5") _, out("zmm6") _, out("zmm7") _, out("zmm8") _, out("zmm9") _,
                out("zmm10") _, out("zmm11") _, out("zmm12") _, out("zmm13") _, out("zmm14") _,
                out("zmm15") _, out("zmm16") _,
                options(nomem, nostack),
            );
        }
    }

    /// 15 independent chains of 256-bit FMAs, the 16th instruction restarting the first
    /// (16 ymm registers only).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn fma_ymm(iters: u64) {
        // SAFETY: register-only arithmetic; every register written is declared clobbered.
        unsafe {
            asm!(
                "vpxor ymm0, ymm0, ymm0",
                "vmovaps ymm1, ymm0", "vmovaps ymm2, ymm0", "vmovaps ymm3, ymm0", "vmovaps ymm4, ymm0",
                "vmovaps ymm5, ymm0", "vmovaps ymm6, ymm0", "vmovaps ymm7, ymm0", "vmovaps ymm8, ymm0",
                "vmovaps ymm9, ymm0", "vmovaps ymm10, ymm0", "vmovaps ymm11, ymm0", "vmovaps ymm12, ymm0",
                "vmovaps ymm13, ymm0", "vmovaps ymm14, ymm0", "vmovaps ymm15, ymm0",
                "2:",
                "vfmadd231ps ymm1, ymm0, ymm0", "vfmadd231ps ymm2, ymm0, ymm0",
                "vfmadd231ps ymm3, ymm0, ymm0", "vfmadd231ps ymm4, ymm0, ymm0",
                "vfmadd231ps ymm5, ymm0, ymm0", "vfmadd231ps ymm6, ymm0, ymm0",
                "vfmadd231ps ymm7, ymm0, ymm0", "vfmadd231ps ymm8, ymm0, ymm0",
                "vfmadd231ps ymm9, ymm0, ymm0", "vfmadd231ps ymm10, ymm0, ymm0",
                "vfmadd231ps ymm11, ymm0, ymm0", "vfmadd231ps ymm12, ymm0, ymm0",
                "vfmadd231ps ymm13, ymm0, ymm0", "vfmadd231ps ymm14, ymm0, ymm0",
                "vfmadd231ps ymm15, ymm0, ymm0", "vfmadd231ps ymm1, ymm0, ymm0",
                "dec {i}",
                "jnz 2b",
                i = inout(reg) iters => _,
                out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _, out("ymm4") _,
                out("ymm5") _, out("ymm6") _, out("ymm7") _, out("ymm8") _, out("ymm9") _,
                out("ymm10") _, out("ymm11") _, out("ymm12") _, out("ymm13") _, out("ymm14") _,
                out("ymm15") _,
                options(nomem, nostack),
            );
        }
    }

    /// 7 independent scalar multiply chains (× 1.0) and 7 add chains (+ 0.0), SSE2 (every
    /// x86-64 CPU): the separate multiply and add of the gemm crate's scalar kernels.
    fn mul_add_scalar(iters: u64) {
        // SAFETY: register-only arithmetic; every register written is declared clobbered.
        unsafe {
            asm!(
                "mov {one:e}, 0x3f800000",
                "movd xmm0, {one:e}",
                "xorps xmm15, xmm15",
                "movaps xmm1, xmm0", "movaps xmm2, xmm0", "movaps xmm3, xmm0", "movaps xmm4, xmm0",
                "movaps xmm5, xmm0", "movaps xmm6, xmm0", "movaps xmm7, xmm0",
                "xorps xmm8, xmm8", "xorps xmm9, xmm9", "xorps xmm10, xmm10", "xorps xmm11, xmm11",
                "xorps xmm12, xmm12", "xorps xmm13, xmm13", "xorps xmm14, xmm14",
                "2:",
                "mulss xmm1, xmm0", "addss xmm8, xmm15",
                "mulss xmm2, xmm0", "addss xmm9, xmm15",
                "mulss xmm3, xmm0", "addss xmm10, xmm15",
                "mulss xmm4, xmm0", "addss xmm11, xmm15",
                "mulss xmm5, xmm0", "addss xmm12, xmm15",
                "mulss xmm6, xmm0", "addss xmm13, xmm15",
                "mulss xmm7, xmm0", "addss xmm14, xmm15",
                "dec {i}",
                "jnz 2b",
                i = inout(reg) iters => _,
                one = out(reg) _,
                out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _, out("xmm4") _,
                out("xmm5") _, out("xmm6") _, out("xmm7") _, out("xmm8") _, out("xmm9") _,
                out("xmm10") _, out("xmm11") _, out("xmm12") _, out("xmm13") _, out("xmm14") _,
                out("xmm15") _,
                options(nomem, nostack),
            );
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod kernels {
    use super::Isa;

    /// No clock probe on this architecture.
    pub fn clock_hz() -> Option<f64> {
        None
    }

    /// No FMA probe on this architecture.
    pub fn fp32_flops(_: Isa) -> Option<f64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every x86-64 CPU runs the scalar probe and the one for the kernels gemm picks; the
    /// figures must be those of a real core (0.5-7 GHz, ½ to 4 instructions per cycle).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn probe_measures_a_plausible_core() {
        for isa in [Isa::detect(), Isa::Scalar] {
            let m = measure(isa, 1).expect("x86-64 has a probe");
            assert_eq!(m.cores, 1);
            assert!((500.0..7000.0).contains(&m.clock_mhz), "{isa:?}: {m:?}");
            let per_issue = m.fp32_flops_per_cycle / (2.0 * isa.fp32_lanes() as f64);
            assert!((0.35..5.0).contains(&per_issue), "{isa:?}: {m:?}");
            assert!(m.probe_ms >= 50.0, "{m:?}");
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[test]
    fn no_probe_off_x86_64() {
        assert!(measure(Isa::detect(), 1).is_none());
    }
}
