//! Element encodings the emulator stores and computes with: the `Elem` of gpubench's fill
//! kernels (`fill_ref.rs` needs `super::elem::Elem`) and cuBLASLt's `cudaDataType` values.

use crate::fill_ref;

/// How one element is stored (the fill kernels' element types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    F64,
    F32,
    F16,
    Bf16,
    E4m3,
}

impl Elem {
    pub fn size(self) -> usize {
        match self {
            Elem::F64 => 8,
            Elem::F32 => 4,
            Elem::F16 | Elem::Bf16 => 2,
            Elem::E4m3 => 1,
        }
    }

    /// The element type of a `cudaDataType` gpubench can use, or `None`.
    pub fn of_data_type(t: u32) -> Option<Elem> {
        match t {
            data::R_64F => Some(Elem::F64),
            data::R_32F => Some(Elem::F32),
            data::R_16F => Some(Elem::F16),
            data::R_16BF => Some(Elem::Bf16),
            data::R_8F_E4M3 => Some(Elem::E4m3),
            _ => None,
        }
    }

    /// Decodes one little-endian element.
    pub fn decode(self, b: &[u8]) -> f64 {
        match self {
            Elem::F64 => f64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            Elem::F32 => f32::from_le_bytes(b[..4].try_into().expect("4 bytes")) as f64,
            Elem::F16 => half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f64(),
            Elem::Bf16 => half::bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f64(),
            Elem::E4m3 => e4m3_to_f64(b[0]),
        }
    }

    /// Encodes one value, rounding to nearest even (fp8 saturates to ±448).
    pub fn encode(self, v: f64, out: &mut Vec<u8>) {
        match self {
            Elem::F64 => out.extend(v.to_le_bytes()),
            Elem::F32 => out.extend((v as f32).to_le_bytes()),
            Elem::F16 => out.extend(half::f16::from_f64(v).to_bits().to_le_bytes()),
            Elem::Bf16 => out.extend(half::bf16::from_f64(v).to_bits().to_le_bytes()),
            Elem::E4m3 => out.push(fill_ref::f32_to_e4m3((v as f32).to_bits())),
        }
    }

    /// Element `i` of the fill kernel's stream `seed`, as `fill_<elem>` writes it.
    pub fn fill_element(self, seed: u64, i: u64, out: &mut Vec<u8>) {
        let v = fill_ref::rand_value(seed, i);
        let f = (v as f32).to_bits();
        match self {
            Elem::F64 => out.extend(v.to_le_bytes()),
            Elem::F32 => out.extend((v as f32).to_le_bytes()),
            Elem::F16 => out.extend(fill_ref::f32_to_f16(f).to_le_bytes()),
            Elem::Bf16 => out.extend(fill_ref::f32_to_bf16(f).to_le_bytes()),
            Elem::E4m3 => out.push(fill_ref::f32_to_e4m3(f)),
        }
    }
}

/// OCP fp8 e4m3 ("fn": bias 7, no infinities, S.1111.111 is NaN).
pub fn e4m3_to_f64(b: u8) -> f64 {
    let sign = if b & 0x80 != 0 { -1.0 } else { 1.0 };
    let e = ((b >> 3) & 0xf) as i32;
    let m = (b & 0x7) as f64;
    if e == 0xf && b & 0x7 == 0x7 {
        return f64::NAN;
    }
    if e == 0 {
        sign * m / 8.0 * 2f64.powi(-6)
    } else {
        sign * (1.0 + m / 8.0) * 2f64.powi(e - 7)
    }
}

/// Rounds to TF32 (10 explicit mantissa bits, nearest even), as tensor cores read fp32 inputs
/// under `CUBLAS_COMPUTE_32F_FAST_TF32`.
pub fn round_tf32(v: f64) -> f64 {
    let x = (v as f32).to_bits();
    if (x & 0x7f80_0000) == 0x7f80_0000 {
        return v;
    }
    let r = x.wrapping_add(0xfff + ((x >> 13) & 1)) & !0x1fff;
    f32::from_bits(r) as f64
}

/// `cudaDataType` values (`library_types.h`).
pub mod data {
    pub const R_32F: u32 = 0;
    pub const R_64F: u32 = 1;
    pub const R_16F: u32 = 2;
    pub const R_16BF: u32 = 14;
    pub const R_8F_E4M3: u32 = 28;
    pub const R_8F_E5M2: u32 = 29;
}
