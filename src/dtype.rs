//! The data types gpubench measures, one enum shared by backends, peaks and exports so they
//! agree on what each name means: how each maps to cuBLAS and to peaks.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::usage;

/// A GEMM precision as the user names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// IEEE half inputs and output, fp32 accumulate, tensor cores.
    Fp16,
    /// bfloat16 inputs and output, fp32 accumulate, tensor cores.
    Bf16,
    /// fp32 data, TF32 tensor-core math (inputs rounded to a 10-bit mantissa), fp32 accumulate.
    Tf32,
    /// fp32 data and strict IEEE fp32 math (no TF32).
    Fp32,
    /// fp64 data and math.
    Fp64,
    /// fp8 e4m3 inputs, bf16 output, fp32 accumulate, through cuBLASLt (compute capability 8.9+).
    Fp8,
}

impl DType {
    /// Every dtype, in the order `--dtype all` measures them.
    pub const ALL: [DType; 6] = [
        DType::Fp16,
        DType::Bf16,
        DType::Tf32,
        DType::Fp32,
        DType::Fp64,
        DType::Fp8,
    ];

    /// The name used on the command line and in profiles.
    pub fn name(self) -> &'static str {
        match self {
            DType::Fp16 => "fp16",
            DType::Bf16 => "bf16",
            DType::Tf32 => "tf32",
            DType::Fp32 => "fp32",
            DType::Fp64 => "fp64",
            DType::Fp8 => "fp8",
        }
    }

    /// Bytes per input element (A and B).
    pub fn input_bytes(self) -> u64 {
        match self {
            DType::Fp16 | DType::Bf16 => 2,
            DType::Tf32 | DType::Fp32 => 4,
            DType::Fp64 => 8,
            DType::Fp8 => 1,
        }
    }

    /// Bytes per output element (C): fp8 products write bf16.
    pub fn output_bytes(self) -> u64 {
        match self {
            DType::Fp8 => 2,
            other => other.input_bytes(),
        }
    }

    /// Name of the output element type.
    pub fn output_type(self) -> &'static str {
        match self {
            DType::Fp16 => "fp16",
            DType::Bf16 | DType::Fp8 => "bf16",
            DType::Tf32 | DType::Fp32 => "fp32",
            DType::Fp64 => "fp64",
        }
    }

    /// Name of the accumulator type.
    pub fn accumulator(self) -> &'static str {
        match self {
            DType::Fp64 => "fp64",
            _ => "fp32",
        }
    }

    /// The largest acceptable verification error, as |c - ref| / sum_k |a_ik * b_kj|.
    ///
    /// The bound is the rounding of the inputs (TF32), of the output (fp16, bf16) and of a
    /// long fp32 accumulation, with headroom: a wrong algorithm or a layout mistake gives
    /// errors of order 1, far above every tolerance here.
    pub fn tolerance(self) -> f64 {
        match self {
            DType::Fp64 => 1e-10,
            DType::Fp32 => 1e-4,
            DType::Tf32 => 4e-3,
            DType::Fp16 => 4e-3,
            DType::Bf16 => 1.6e-2,
            DType::Fp8 => 3e-2,
        }
    }

    /// Parses a comma-separated list (`fp16,bf16`) or `all`; rejects empty items and repeats.
    pub fn parse_list(s: &str) -> anyhow::Result<Vec<DType>> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(DType::ALL.to_vec());
        }
        let mut out = Vec::new();
        for item in s.split(',') {
            let d: DType = item.parse()?;
            if !out.contains(&d) {
                out.push(d);
            }
        }
        Ok(out)
    }
}

/// The dtypes `--dtype` asks for: `all` (those the device supports), or a list that must be
/// supported entirely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtypeSelection {
    All,
    List(Vec<DType>),
}

impl FromStr for DtypeSelection {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let list = DType::parse_list(s)?;
        Ok(if s.trim().eq_ignore_ascii_case("all") {
            DtypeSelection::All
        } else {
            DtypeSelection::List(list)
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        let d = match t.as_str() {
            "fp16" | "f16" | "half" | "float16" => DType::Fp16,
            "bf16" | "bfloat16" => DType::Bf16,
            "tf32" => DType::Tf32,
            "fp32" | "f32" | "float" | "float32" => DType::Fp32,
            "fp64" | "f64" | "double" | "float64" => DType::Fp64,
            "fp8" | "e4m3" | "fp8-e4m3" => DType::Fp8,
            _ => {
                return Err(usage(format!(
                    "unknown dtype '{s}': choose from fp16, bf16, tf32, fp32, fp64, fp8, or 'all'"
                )))
            }
        };
        Ok(d)
    }
}

/// Decodes an fp8 e4m3 (OCP "fn" variant: no infinities, S.1111.111 is NaN) byte.
pub fn e4m3_to_f32(b: u8) -> f32 {
    let sign = if b & 0x80 != 0 { -1.0 } else { 1.0 };
    let exp = ((b >> 3) & 0x0f) as i32;
    let man = (b & 0x07) as f32;
    if exp == 0x0f && (b & 0x07) == 0x07 {
        return f32::NAN;
    }
    if exp == 0 {
        sign * man / 8.0 * 2f32.powi(-6)
    } else {
        sign * (1.0 + man / 8.0) * 2f32.powi(exp - 7)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_all() {
        assert_eq!(
            DType::parse_list("fp16,bf16").unwrap(),
            vec![DType::Fp16, DType::Bf16]
        );
        assert_eq!(DType::parse_list("all").unwrap().len(), 6);
        assert_eq!(DType::parse_list("FP32").unwrap(), vec![DType::Fp32]);
        assert!(DType::parse_list("fp12").is_err());
        assert!(DType::parse_list("fp16,").is_err());
    }

    #[test]
    fn e4m3_decoding() {
        assert_eq!(e4m3_to_f32(0x00), 0.0);
        assert_eq!(e4m3_to_f32(0x38), 1.0); // exp 7, man 0
        assert_eq!(e4m3_to_f32(0xb8), -1.0);
        assert_eq!(e4m3_to_f32(0x7e), 448.0); // largest finite
        assert_eq!(e4m3_to_f32(0x01), 2f32.powi(-9)); // smallest subnormal
        assert!(e4m3_to_f32(0x7f).is_nan());
    }

    #[test]
    fn serde_names_match_cli_names() {
        for d in DType::ALL {
            let j = serde_json::to_string(&d).unwrap();
            assert_eq!(j, format!("\"{}\"", d.name()));
        }
    }
}
