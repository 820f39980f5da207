//! The shapes a sweep measures: square sizes from `--n` alone, or the m × n × k grid when
//! `--m` or `--k` is given, checked for overflow and for the point limit before anything
//! runs.

use crate::backend::GemmShape;
use crate::dtype::DType;
use crate::error::usage;

use super::range::parse_values;

/// The default limit on the number of points one sweep may measure (`--max-points`).
pub const DEFAULT_MAX_POINTS: u64 = 10_000;

/// Which dimensions the user gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimsSpec<'a> {
    pub m: Option<&'a str>,
    pub n: Option<&'a str>,
    pub k: Option<&'a str>,
}

/// Builds the shapes: `--n` alone gives square shapes; with `--m` or `--k`, every
/// combination of the three lists (a missing one is a usage error). Order: m, then n,
/// then k, each ascending.
pub fn shapes(dims: &DimsSpec<'_>, max_points: u64) -> anyhow::Result<Vec<GemmShape>> {
    let Some(n) = dims.n else {
        return Err(usage(
            "give --n (square sizes, e.g. --n 1024:16384:1024), or --m, --n and --k together",
        ));
    };
    let ns = parse_values(n, "--n", max_points)?;
    if dims.m.is_none() && dims.k.is_none() {
        return Ok(ns.into_iter().map(GemmShape::square).collect());
    }
    let (Some(m), Some(k)) = (dims.m, dims.k) else {
        let missing = if dims.m.is_none() { "--m" } else { "--k" };
        return Err(usage(format!(
            "{missing} is missing: a non-square sweep needs --m, --n and --k (a single size is fine, e.g. {missing} 4096); for square sizes give --n alone"
        )));
    };
    let ms = parse_values(m, "--m", max_points)?;
    let ks = parse_values(k, "--k", max_points)?;
    let count = (ms.len() as u64)
        .checked_mul(ns.len() as u64)
        .and_then(|x| x.checked_mul(ks.len() as u64));
    match count {
        Some(c) if c <= max_points => {}
        _ => {
            return Err(usage(format!(
                "--m × --n × --k: {} × {} × {} points is more than the limit of {max_points}; use larger steps or raise --max-points",
                ms.len(),
                ns.len(),
                ks.len()
            )))
        }
    }
    let mut out = Vec::new();
    for &m in &ms {
        for &n in &ns {
            for &k in &ks {
                out.push(GemmShape { m, n, k, batch: 1 });
            }
        }
    }
    Ok(out)
}

/// Checks that the whole sweep (`dtypes` × `shapes`) stays within `max_points`, and that no
/// shape overflows 64-bit arithmetic: m·n·k (the FLOP count) and the bytes of A, B and C.
pub fn check(dtypes: &[DType], shapes: &[GemmShape], max_points: u64) -> anyhow::Result<()> {
    let total = (dtypes.len() as u64).checked_mul(shapes.len() as u64);
    if total.is_none_or(|t| t > max_points) {
        return Err(usage(format!(
            "{} dtypes × {} shapes is more than the limit of {max_points} points; sweep fewer sizes or raise --max-points",
            dtypes.len(),
            shapes.len()
        )));
    }
    for &s in shapes {
        for &d in dtypes {
            if bytes_checked(s, d, 1).is_none() || mnk_checked(s).is_none() {
                return Err(usage(format!(
                    "{d} {s}: the product m·n·k or the matrix sizes overflow 64-bit arithmetic; choose smaller sizes"
                )));
            }
        }
    }
    Ok(())
}

/// m·n·k·batch, or `None` on overflow.
pub fn mnk_checked(s: GemmShape) -> Option<u64> {
    s.m.checked_mul(s.n)?.checked_mul(s.k)?.checked_mul(s.batch)
}

/// Bytes of `sets` input sets (A and B) plus C, or `None` on overflow.
pub fn bytes_checked(s: GemmShape, dtype: DType, sets: u32) -> Option<u64> {
    let a = s.m.checked_mul(s.k)?;
    let b = s.n.checked_mul(s.k)?;
    let ab = a
        .checked_add(b)?
        .checked_mul(s.batch)?
        .checked_mul(dtype.input_bytes())?
        .checked_mul(sets as u64)?;
    let c =
        s.m.checked_mul(s.n)?
            .checked_mul(s.batch)?
            .checked_mul(dtype.output_bytes())?;
    ab.checked_add(c)
}

/// A short description of the swept dimensions for file names: `n1024-16384` or
/// `m1024-4096_n4096-16384_k1024-16384`.
pub fn describe(shapes: &[GemmShape]) -> String {
    fn span(v: impl Iterator<Item = u64> + Clone) -> String {
        let lo = v.clone().min().unwrap_or(0);
        let hi = v.max().unwrap_or(0);
        if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        }
    }
    if shapes.iter().all(|s| s.is_square()) {
        format!("n{}", span(shapes.iter().map(|s| s.n)))
    } else {
        format!(
            "m{}_n{}_k{}",
            span(shapes.iter().map(|s| s.m)),
            span(shapes.iter().map(|s| s.n)),
            span(shapes.iter().map(|s| s.k))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::is_usage;

    fn spec<'a>(m: Option<&'a str>, n: Option<&'a str>, k: Option<&'a str>) -> DimsSpec<'a> {
        DimsSpec { m, n, k }
    }

    #[test]
    fn square_from_n_alone() {
        let s = shapes(&spec(None, Some("1024:4096:1024"), None), 100).unwrap();
        assert_eq!(s.len(), 4);
        assert!(s.iter().all(|s| s.is_square()));
        assert_eq!(describe(&s), "n1024-4096");
    }

    #[test]
    fn grid_from_three_flags() {
        let s = shapes(
            &spec(
                Some("1024:4096:1024"),
                Some("4096:16384:4096"),
                Some("1024:16384:2048"),
            ),
            10_000,
        )
        .unwrap();
        assert_eq!(s.len(), 4 * 4 * 8);
        assert_eq!(
            s[0],
            GemmShape {
                m: 1024,
                n: 4096,
                k: 1024,
                batch: 1
            }
        );
        assert_eq!(s[1].k, 3072);
        assert_eq!(describe(&s), "m1024-4096_n4096-16384_k1024-15360");
    }

    #[test]
    fn missing_dims_and_point_limit() {
        for d in [
            spec(Some("64"), Some("64"), None),
            spec(None, Some("64"), Some("64")),
        ] {
            let e = shapes(&d, 100).unwrap_err();
            assert!(is_usage(&e) && e.to_string().contains("is missing"), "{e}");
        }
        assert!(shapes(&spec(None, None, None), 100).is_err());
        let e = shapes(
            &spec(Some("1:100:1"), Some("1:100:1"), Some("1:100:1")),
            10_000,
        )
        .unwrap_err();
        assert!(e.to_string().contains("100 × 100 × 100"), "{e}");
    }

    #[test]
    fn overflowing_products_are_rejected() {
        let big = 2_147_483_647;
        let s = [GemmShape {
            m: big,
            n: big,
            k: big,
            batch: 1,
        }];
        assert_eq!(mnk_checked(s[0]), None);
        let e = check(&[DType::Fp64], &s, 100).unwrap_err();
        assert!(is_usage(&e) && e.to_string().contains("overflow"), "{e}");
        let s = [GemmShape {
            m: big,
            n: big,
            k: 8,
            batch: 1,
        }];
        assert_eq!(bytes_checked(s[0], DType::Fp64, 1), None);
        assert_eq!(
            bytes_checked(s[0], DType::Fp16, 1),
            Some((big * 8 * 2) * 2 + big * big * 2)
        );
        assert!(check(&[DType::Fp32], &[GemmShape::square(64)], 100).is_ok());
        let e = check(
            &[DType::Fp32, DType::Fp64],
            &vec![GemmShape::square(8); 60],
            100,
        )
        .unwrap_err();
        assert!(e.to_string().contains("2 dtypes × 60 shapes"), "{e}");
    }
}
