//! Host mirror of `kernels/fill.cu`, for tests only: the same hash and the same hand-written
//! round-to-nearest-even conversions, line for line.
//!
//! Why: the device code cannot be run without a GPU, but its logic can. These functions are
//! checked here against the `half` crate (fp16, bf16) and against exhaustive nearest-value
//! search through `dtype::e4m3_to_f32` (fp8); a GPU test then checks the device output against
//! them bit for bit, which ties the kernel to the tested logic.

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's output function (`mix64` in fill.cu).
pub(super) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Element `i` of stream `seed` (`rand_value` in fill.cu).
pub(super) fn rand_value(seed: u64, i: u64) -> f64 {
    let r = mix64(seed.wrapping_add(i.wrapping_add(1).wrapping_mul(GOLDEN)));
    let sign = r & 0x8000_0000_0000_0000;
    let octave = ((r >> 53) & 0xff) % 6;
    let bits = sign | ((1022 - octave) << 52) | (r & 0x000F_FFFF_FFFF_FFFF);
    f64::from_bits(bits)
}

/// `round_shift` in fill.cu: `m >> s` rounded to nearest even, `1 <= s <= 24`.
fn round_shift(m: u32, s: i32) -> u32 {
    let mut h = m >> s;
    let rem = m & ((1u32 << s) - 1);
    let half = 1u32 << (s - 1);
    if rem > half || (rem == half && (h & 1) != 0) {
        h += 1;
    }
    h
}

/// `f32_to_f16` in fill.cu.
pub(super) fn f32_to_f16(x: u32) -> u16 {
    let sign = (x >> 16) & 0x8000;
    let ax = x & 0x7fff_ffff;
    if ax > 0x7f80_0000 {
        return (sign | 0x7e00) as u16;
    }
    let e = (ax >> 23) as i32 - 127;
    let m = ax & 0x7f_ffff;
    if e > 15 {
        return (sign | 0x7c00) as u16;
    }
    if e >= -14 {
        let mut h = (((e + 15) as u32) << 10) | (m >> 13);
        let rem = m & 0x1fff;
        if rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0) {
            h += 1;
        }
        return (sign | h) as u16;
    }
    let s = -e - 1;
    if s > 24 {
        return sign as u16;
    }
    (sign | round_shift(m | 0x80_0000, s)) as u16
}

/// `f32_to_bf16` in fill.cu.
pub(super) fn f32_to_bf16(x: u32) -> u16 {
    if (x & 0x7fff_ffff) > 0x7f80_0000 {
        return ((x >> 16) | 0x40) as u16;
    }
    (x.wrapping_add(0x7fff).wrapping_add((x >> 16) & 1) >> 16) as u16
}

/// `f32_to_e4m3` in fill.cu.
pub(super) fn f32_to_e4m3(x: u32) -> u8 {
    let sign = (x >> 24) & 0x80;
    let ax = x & 0x7fff_ffff;
    if ax > 0x7f80_0000 {
        return (sign | 0x7f) as u8;
    }
    let e = (ax >> 23) as i32 - 127;
    let m = ax & 0x7f_ffff;
    if e > 8 {
        return (sign | 0x7e) as u8;
    }
    if e >= -6 {
        let mut h = (((e + 7) as u32) << 3) | (m >> 20);
        let rem = m & 0xf_ffff;
        if rem > 0x8_0000 || (rem == 0x8_0000 && (h & 1) != 0) {
            h += 1;
        }
        if h > 0x7e {
            h = 0x7e;
        }
        return (sign | h) as u8;
    }
    let s = 14 - e;
    if s > 24 {
        return sign as u8;
    }
    (sign | round_shift(m | 0x80_0000, s)) as u8
}

/// The bytes `fill_<elem>` writes for elements `0..n` of stream `seed`.
pub(super) fn fill_bytes(elem: super::elem::Elem, seed: u64, n: u64) -> Vec<u8> {
    use super::elem::Elem;
    let mut out = Vec::with_capacity(n as usize * elem.size());
    for i in 0..n {
        let v = rand_value(seed, i);
        let f = (v as f32).to_bits();
        match elem {
            Elem::F64 => out.extend(v.to_le_bytes()),
            Elem::F32 => out.extend((v as f32).to_le_bytes()),
            Elem::F16 => out.extend(f32_to_f16(f).to_le_bytes()),
            Elem::Bf16 => out.extend(f32_to_bf16(f).to_le_bytes()),
            Elem::E4m3 => out.push(f32_to_e4m3(f)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::e4m3_to_f32;
    use half::{bf16, f16};

    /// Deterministic f32 test values: random bit patterns over a wide exponent range, plus
    /// exact ties and boundaries of every target format.
    fn test_values() -> Vec<f32> {
        let mut v = Vec::new();
        let mut x = 0x1234_5678_9abc_def1u64;
        for _ in 0..40_000 {
            x = mix64(x);
            let bits = x as u32;
            // exponents 2^-30 .. 2^18 (covers f16/e4m3 subnormals, normals and overflow)
            let exp = 97 + ((x >> 40) % 48) as u32;
            v.push(f32::from_bits(
                (bits & 0x8000_0000) | (exp << 23) | (bits & 0x7f_ffff),
            ));
        }
        // ties: halfway between neighbouring f16 / bf16 / e4m3 values, and f32 neighbours
        for k in 0..4096u32 {
            let h = f16::from_bits((k as u16) & 0x7bff).to_f32();
            let next = f16::from_bits(((k as u16) & 0x7bff) + 1).to_f32();
            v.push((h + next) / 2.0);
            let b = bf16::from_bits((k as u16) + 0x3000).to_f32();
            let bn = bf16::from_bits((k as u16) + 0x3001).to_f32();
            v.push((b + bn) / 2.0);
        }
        for code in 0u8..0x7e {
            let a = e4m3_to_f32(code);
            let b = e4m3_to_f32(code + 1);
            let mid = (a + b) / 2.0;
            v.extend([
                a,
                mid,
                f32::from_bits(mid.to_bits() + 1),
                f32::from_bits(mid.to_bits() - 1),
            ]);
        }
        v.extend([
            0.0,
            -0.0,
            65504.0,
            65519.99,
            65520.0,
            1e-8,
            2f32.powi(-24),
            2f32.powi(-25),
            2f32.powi(-6),
            448.0,
            464.0,
            1e6,
            f32::MIN_POSITIVE / 2.0,
        ]);
        v
    }

    #[test]
    fn f16_matches_half_crate() {
        for x in test_values() {
            for x in [x, -x] {
                assert_eq!(
                    f32_to_f16(x.to_bits()),
                    f16::from_f32(x).to_bits(),
                    "{x:e} ({:#010x})",
                    x.to_bits()
                );
            }
        }
        assert_eq!(f32_to_f16(f32::INFINITY.to_bits()), 0x7c00);
        assert!(f16::from_bits(f32_to_f16(f32::NAN.to_bits())).is_nan());
    }

    #[test]
    fn bf16_matches_half_crate() {
        for x in test_values() {
            for x in [x, -x] {
                assert_eq!(
                    f32_to_bf16(x.to_bits()),
                    bf16::from_f32(x).to_bits(),
                    "{x:e}"
                );
            }
        }
        assert_eq!(f32_to_bf16(f32::MAX.to_bits()), 0x7f80); // rounds to infinity
        assert!(bf16::from_bits(f32_to_bf16(f32::NAN.to_bits())).is_nan());
    }

    /// The e4m3 code nearest to x (ties to the even code), by exhaustive search.
    fn nearest_e4m3(x: f32) -> u8 {
        let mut best = 0u8;
        let mut best_d = f64::INFINITY;
        for code in 0u8..=0x7e {
            let d = (x.abs() as f64 - e4m3_to_f32(code) as f64).abs();
            if d < best_d || (d == best_d && code & 1 == 0) {
                best = code;
                best_d = d;
            }
        }
        if x.is_sign_negative() {
            best | 0x80
        } else {
            best
        }
    }

    #[test]
    fn e4m3_is_nearest_even_and_saturates() {
        for x in test_values() {
            for x in [x, -x] {
                let got = f32_to_e4m3(x.to_bits());
                if x.abs() > 448.0 {
                    assert_eq!(got & 0x7f, 0x7e, "{x:e} saturates to 448");
                    continue;
                }
                let want = nearest_e4m3(x);
                // zero: either sign is the nearest value
                if e4m3_to_f32(got) == 0.0 && e4m3_to_f32(want) == 0.0 {
                    continue;
                }
                assert_eq!(got, want, "{x:e}: got {got:#04x}, want {want:#04x}");
                assert_eq!(e4m3_to_f32(got).to_bits(), e4m3_to_f32(want).to_bits());
            }
        }
        for code in 0u8..=0x7e {
            // every representable value converts to itself
            assert_eq!(f32_to_e4m3(e4m3_to_f32(code).to_bits()), code);
            assert_eq!(f32_to_e4m3((-e4m3_to_f32(code)).to_bits()), code | 0x80);
        }
        assert_eq!(f32_to_e4m3(f32::NAN.to_bits()) & 0x7f, 0x7f);
    }

    #[test]
    fn random_values_are_normal_signed_and_spread() {
        let n = 100_000;
        let mut neg = 0;
        let mut octaves = [0usize; 6];
        let mut low_bits = 0u64;
        for i in 0..n {
            let v = rand_value(42, i);
            assert!(v.abs() >= 2f64.powi(-6) && v.abs() < 1.0, "{v}");
            if v < 0.0 {
                neg += 1;
            }
            octaves[(-v.abs().log2().floor()) as usize - 1] += 1;
            low_bits |= v.to_bits() & 0xff; // fp64 mantissas are full: low bits vary
                                            // never zero or subnormal in any stored type
            let f = (v as f32).to_bits();
            assert!(f16::from_bits(f32_to_f16(f)).is_normal());
            assert!(bf16::from_bits(f32_to_bf16(f)).is_normal());
            let e = e4m3_to_f32(f32_to_e4m3(f));
            assert!(e.abs() >= 2f32.powi(-6) && e.abs() <= 1.0, "{e}");
        }
        assert!((neg as f64 / n as f64 - 0.5).abs() < 0.01, "{neg}");
        for c in octaves {
            assert!(
                (c as f64 / n as f64 - 1.0 / 6.0).abs() < 0.01,
                "{octaves:?}"
            );
        }
        assert_eq!(low_bits, 0xff);
        // different seeds give different streams; the same seed the same stream
        assert_ne!(rand_value(1, 0), rand_value(2, 0));
        assert_eq!(rand_value(7, 123), rand_value(7, 123));
    }

    #[test]
    fn fill_bytes_layout() {
        use crate::backend::cuda::elem::Elem;
        for e in [Elem::F64, Elem::F32, Elem::F16, Elem::Bf16, Elem::E4m3] {
            let b = fill_bytes(e, 9, 10);
            assert_eq!(b.len(), 10 * e.size());
            let back = e.decode(&b);
            for (i, x) in back.iter().enumerate() {
                let v = rand_value(9, i as u64);
                assert_eq!(x.signum(), v.signum());
                assert!((x - v).abs() <= v.abs() * 0.07, "{e:?} {x} vs {v}");
            }
        }
    }

    /// Host harness for `kernels/fill.cu`: the kernels compiled as plain C++ (one thread, one
    /// block) so the device source itself can be checked against this mirror without a GPU.
    const HARNESS: &str = r#"
#include <cstdio>
#include <cstdlib>
#include <vector>
struct Dim { unsigned int x; };
static Dim blockIdx{0}, blockDim{1}, threadIdx{0}, gridDim{1};
#define __device__
#define __forceinline__ inline
#define __global__
#include "fill.cu"
int main(int argc, char** argv) {
    if (argc == 2) { // conversions of f32 bit patterns read from stdin
        unsigned int x;
        while (fread(&x, 4, 1, stdin) == 1) {
            unsigned short h = f32_to_f16(x), b = f32_to_bf16(x);
            unsigned char e = f32_to_e4m3(x);
            fwrite(&h, 2, 1, stdout); fwrite(&b, 2, 1, stdout); fwrite(&e, 1, 1, stdout);
        }
        return 0;
    }
    unsigned long long n = strtoull(argv[1], 0, 10), seed = strtoull(argv[2], 0, 10);
    std::vector<double> d(n); fill_f64(d.data(), n, seed); fwrite(d.data(), 8, n, stdout);
    std::vector<float> f(n); fill_f32(f.data(), n, seed); fwrite(f.data(), 4, n, stdout);
    std::vector<unsigned short> h(n);
    fill_f16(h.data(), n, seed); fwrite(h.data(), 2, n, stdout);
    fill_bf16(h.data(), n, seed); fwrite(h.data(), 2, n, stdout);
    std::vector<unsigned char> e(n); fill_e4m3(e.data(), n, seed); fwrite(e.data(), 1, n, stdout);
    return 0;
}
"#;

    /// Compiles the harness with the host C++ compiler, or `None` when there is none.
    fn build_harness(dir: &std::path::Path) -> Option<std::path::PathBuf> {
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
        let src = dir.join("harness.cpp");
        std::fs::write(&src, HARNESS).unwrap();
        let exe = dir.join("harness");
        let kernels = concat!(env!("CARGO_MANIFEST_DIR"), "/kernels");
        let out = std::process::Command::new(&cxx)
            .args(["-std=c++17", "-O1", "-I", kernels, "-o"])
            .arg(&exe)
            .arg(&src)
            .output();
        match out {
            Err(_) => None, // no host compiler: nothing to check here
            Ok(o) => {
                assert!(
                    o.status.success(),
                    "fill.cu does not compile as C++: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                Some(exe)
            }
        }
    }

    #[test]
    fn fill_cu_matches_this_mirror() {
        use crate::backend::cuda::elem::Elem;
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let Some(exe) = build_harness(dir.path()) else {
            eprintln!("no C++ compiler (c++ or $CXX): fill.cu not checked on the host");
            return;
        };
        // the fill kernels, element for element
        let (n, seed) = (5000u64, 0xDEAD_BEEF_u64);
        let out = std::process::Command::new(&exe)
            .args([n.to_string(), seed.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut want = Vec::new();
        for e in [Elem::F64, Elem::F32, Elem::F16, Elem::Bf16, Elem::E4m3] {
            want.extend(fill_bytes(e, seed, n));
        }
        assert_eq!(out.stdout.len(), want.len());
        assert!(out.stdout == want, "fill.cu and fill_ref.rs disagree");
        // the conversions, over every test value
        let values = test_values();
        let mut child = std::process::Command::new(&exe)
            .arg("conv")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let input: Vec<u8> = values
            .iter()
            .flat_map(|x| [x.to_bits(), (-x).to_bits()])
            .flat_map(|b| b.to_le_bytes())
            .collect();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        let mut k = 0;
        for x in values.iter().flat_map(|x| [*x, -x]) {
            let b = &out.stdout[k..k + 5];
            k += 5;
            let bits = x.to_bits();
            assert_eq!(
                u16::from_le_bytes([b[0], b[1]]),
                f32_to_f16(bits),
                "f16 {x:e}"
            );
            assert_eq!(
                u16::from_le_bytes([b[2], b[3]]),
                f32_to_bf16(bits),
                "bf16 {x:e}"
            );
            assert_eq!(b[4], f32_to_e4m3(bits), "e4m3 {x:e}");
        }
        assert_eq!(k, out.stdout.len());
    }

    /// The device kernels against this mirror, bit for bit, for every element type.
    #[test]
    #[ignore = "needs a GPU"]
    fn device_fill_matches_this_mirror() {
        use crate::backend::cuda::elem::Elem;
        use crate::backend::cuda::kernels::Kernels;
        use cudarc::driver::CudaContext;
        let ctx = CudaContext::new(0).unwrap();
        // SAFETY: one stream only in this test.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream().unwrap();
        let (major, minor) = ctx.compute_capability().unwrap();
        let kernels = Kernels::compile(&ctx, 4, (major as u32, minor as u32)).unwrap();
        // more elements than one grid covers, so the grid-stride loop runs
        let n = 300_001usize;
        for e in [Elem::F64, Elem::F32, Elem::F16, Elem::Bf16, Elem::E4m3] {
            let mut buf = stream.alloc_zeros::<u8>(n * e.size()).unwrap();
            kernels.fill(&stream, &mut buf, e, 0xABCDEF).unwrap();
            let mut host = vec![0u8; n * e.size()];
            stream.memcpy_dtoh(&buf, &mut host).unwrap();
            stream.synchronize().unwrap();
            assert!(host == fill_bytes(e, 0xABCDEF, n as u64), "{e:?}");
        }
    }
}
