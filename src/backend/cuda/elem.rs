//! Element types as the CUDA backend stores them: every device buffer is raw bytes, and this
//! module says how many bytes an element takes, which fill kernel writes it, and how to decode
//! elements copied back to the host as f64 for verification.
//!
//! Why bytes: one non-generic buffer type serves all six dtypes (cuBLASLt takes untyped
//! pointers anyway), and the narrow types (fp16, bf16, fp8) need no device-side Rust type.

use crate::dtype::{e4m3_to_f32, DType};

/// How one element is stored on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Elem {
    F64,
    F32,
    F16,
    Bf16,
    E4m3,
}

impl Elem {
    /// The element type of A and B for a dtype (tf32 stores fp32).
    pub(super) fn input(dtype: DType) -> Elem {
        match dtype {
            DType::Fp64 => Elem::F64,
            DType::Fp32 | DType::Tf32 => Elem::F32,
            DType::Fp16 => Elem::F16,
            DType::Bf16 => Elem::Bf16,
            DType::Fp8 => Elem::E4m3,
        }
    }

    /// The element type of C for a dtype (fp8 products write bf16).
    pub(super) fn output(dtype: DType) -> Elem {
        match dtype {
            DType::Fp8 => Elem::Bf16,
            other => Elem::input(other),
        }
    }

    /// Bytes per element.
    pub(super) fn size(self) -> usize {
        match self {
            Elem::F64 => 8,
            Elem::F32 => 4,
            Elem::F16 | Elem::Bf16 => 2,
            Elem::E4m3 => 1,
        }
    }

    /// Name of the fill kernel in `kernels/fill.cu` that writes this type.
    pub(super) fn fill_kernel(self) -> &'static str {
        match self {
            Elem::F64 => "fill_f64",
            Elem::F32 => "fill_f32",
            Elem::F16 => "fill_f16",
            Elem::Bf16 => "fill_bf16",
            Elem::E4m3 => "fill_e4m3",
        }
    }

    /// Decodes little-endian elements (as copied from the device) to f64.
    pub(super) fn decode(self, bytes: &[u8]) -> Vec<f64> {
        let size = self.size();
        bytes
            .chunks_exact(size)
            .map(|b| match self {
                Elem::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")),
                Elem::F32 => f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64,
                Elem::F16 => half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f64(),
                Elem::Bf16 => half::bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f64(),
                Elem::E4m3 => e4m3_to_f32(b[0]) as f64,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_dtype_bytes() {
        for d in DType::ALL {
            assert_eq!(Elem::input(d).size() as u64, d.input_bytes(), "{d}");
            assert_eq!(Elem::output(d).size() as u64, d.output_bytes(), "{d}");
        }
        assert_eq!(Elem::output(DType::Fp8), Elem::Bf16);
        assert_eq!(Elem::input(DType::Tf32), Elem::F32);
    }

    #[test]
    fn decodes_each_type() {
        assert_eq!(Elem::F64.decode(&(-1.5f64).to_le_bytes()), vec![-1.5]);
        assert_eq!(Elem::F32.decode(&0.25f32.to_le_bytes()), vec![0.25]);
        let h = half::f16::from_f32(-0.75).to_bits().to_le_bytes();
        assert_eq!(Elem::F16.decode(&h), vec![-0.75]);
        let b = half::bf16::from_f32(3.0).to_bits().to_le_bytes();
        assert_eq!(Elem::Bf16.decode(&b), vec![3.0]);
        assert_eq!(Elem::E4m3.decode(&[0x38, 0xb8]), vec![1.0, -1.0]);
        let two: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(Elem::F32.decode(&two), vec![1.0, 2.0]);
    }
}
