//! What a measuring command settles before the first product: the dtypes the backend runs,
//! the input sets of a request, whether its matrices fit in free memory, and the empty
//! profile the results go into.

use crate::backend::{Backend, GemmShape};
use crate::dtype::{DType, DtypeSelection};
use crate::error::usage;
use crate::profile::{now_utc, HostInfo, Profile, TimingSettings, ToolInfo, SCHEMA_VERSION};
use crate::units::fmt_bytes;

/// Bytes of cuBLASLt workspace and slack the CUDA backend needs beyond the matrices.
const DEVICE_SLACK_BYTES: u64 = 64 << 20;

/// Bytes one GEMM needs with `sets` input sets.
pub fn bytes_needed(dtype: DType, shape: GemmShape, sets: u32) -> u64 {
    let (ab, c) = shape.bytes(dtype);
    ab.saturating_mul(sets as u64).saturating_add(c)
}

/// Fails (usage error, before anything is allocated) when the matrices do not fit in the
/// backend's free memory, saying how much is needed and how much is free.
pub fn check_memory(
    backend: &dyn Backend,
    dtype: DType,
    shape: GemmShape,
    sets: u32,
) -> anyhow::Result<()> {
    let need = bytes_needed(dtype, shape, sets);
    let Some(free) = backend.free_memory()? else {
        return Ok(());
    };
    let slack = if backend.info().backend == crate::backend::BackendKind::Cuda {
        DEVICE_SLACK_BYTES
    } else {
        free / 10
    };
    if need.saturating_add(slack) > free {
        let place = if backend.info().backend == crate::backend::BackendKind::Cuda {
            "device"
        } else {
            "host"
        };
        return Err(usage(format!(
            "{dtype} {shape} needs {} of {place} memory ({} input set{}) but only {} is free; choose a smaller size{}",
            fmt_bytes(need as f64),
            sets,
            if sets == 1 { "" } else { "s" },
            fmt_bytes(free as f64),
            if sets > 1 { " or drop --cold" } else { "" }
        )));
    }
    Ok(())
}

/// Input sets for a request: 1, or enough to beat the L2 cache with `--cold`.
pub fn input_sets(backend: &dyn Backend, dtype: DType, shape: GemmShape, cold: bool) -> u32 {
    if !cold {
        return 1;
    }
    let (ab, _) = shape.bytes(dtype);
    crate::measure::point::cold_input_sets(ab, backend.info().l2_bytes)
}

/// An empty profile for a backend, stamped now with this command line.
pub fn new_profile(
    backend: &dyn Backend,
    settings: TimingSettings,
    kind: crate::profile::ProfileKind,
) -> Profile {
    Profile {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::current(),
        created_utc: now_utc(),
        command: std::env::args().collect(),
        kind,
        host: HostInfo::detect(),
        device: backend.info().clone(),
        settings,
        results: Vec::new(),
        interrupted: None,
        planned_results: None,
        cluster: None,
    }
}

/// The dtypes a measuring command runs on `backend`: the backend's default (bf16 on a GPU,
/// fp32 on the CPU) when none is given; for `all`, every dtype the device supports (the
/// others are named in the returned notice); an explicit list must be supported entirely
/// (usage error otherwise).
pub fn resolve_dtypes(
    requested: Option<&DtypeSelection>,
    backend: &dyn Backend,
) -> anyhow::Result<(Vec<DType>, Option<String>)> {
    let cpu = backend.info().backend == crate::backend::BackendKind::Cpu;
    let list = match requested {
        None => return Ok((vec![if cpu { DType::Fp32 } else { DType::Bf16 }], None)),
        Some(DtypeSelection::List(list)) => list.clone(),
        Some(DtypeSelection::All) => {
            let (ok, skipped): (Vec<DType>, Vec<DType>) = DType::ALL
                .into_iter()
                .partition(|d| backend.check_dtype(*d).is_ok());
            let notice = (!skipped.is_empty()).then(|| {
                format!(
                    "notice: --dtype all on {}: skipping {} (not supported by this device)",
                    backend.info().name,
                    skipped
                        .iter()
                        .map(|d| d.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            return Ok((ok, notice));
        }
    };
    for &d in &list {
        backend.check_dtype(d)?;
    }
    Ok((list, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_for_16384_fp16() {
        let b = bytes_needed(DType::Fp16, GemmShape::square(16384), 1);
        assert_eq!(b, 3 * 16384 * 16384 * 2);
    }

    #[test]
    fn dtype_all_means_every_supported_dtype() {
        let cpu = crate::backend::cpu::CpuBackend::new();
        let (d, notice) = resolve_dtypes(Some(&DtypeSelection::All), &cpu).unwrap();
        assert_eq!(d, vec![DType::Fp16, DType::Fp32, DType::Fp64]);
        let notice = notice.unwrap();
        assert!(notice.contains("bf16, tf32, fp8"), "{notice}");
        assert_eq!(resolve_dtypes(None, &cpu).unwrap().0, vec![DType::Fp32]);
        let e = resolve_dtypes(Some(&"fp32,bf16".parse().unwrap()), &cpu).unwrap_err();
        assert!(crate::error::is_usage(&e));
    }
}
