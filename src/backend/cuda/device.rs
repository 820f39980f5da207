//! What gpubench records and decides about one GPU: its [`DeviceInfo`] (driver attributes,
//! NVML where available), which dtypes its compute capability runs, and the peak derived from
//! its SMs and clock.
//!
//! Why separate: these are the facts a profile is judged by (which part, which clock, which
//! library versions), and most of the logic is pure and testable without a GPU.

use std::ffi::c_char;
use std::sync::Arc;

use cudarc::driver::sys::CUdevice_attribute as Attr;
use cudarc::driver::CudaContext;

use crate::backend::DeviceInfo;
use crate::dtype::DType;
use crate::error::usage;
use crate::peak;

use super::libs;

/// Collects the device's facts. Driver attributes are required; NVML facts (driver version,
/// clocks when the driver attribute is missing) are best effort.
pub(super) fn gather(
    ctx: &Arc<CudaContext>,
    ordinal: u32,
    driver_cuda: (u32, u32),
    cublas: Option<(u32, u32, u32)>,
) -> anyhow::Result<DeviceInfo> {
    let name = ctx
        .name()
        .map_err(|e| anyhow::anyhow!("reading the name of cuda:{ordinal}: {e}"))?;
    let (major, minor) = ctx
        .compute_capability()
        .map_err(|e| anyhow::anyhow!("reading the compute capability of cuda:{ordinal}: {e}"))?;
    let attr = |a: Attr| ctx.attribute(a).ok().filter(|v| *v > 0);
    let khz_to_mhz = |v: i32| v as f64 / 1000.0;
    let cuda_uuid = ctx.uuid().ok().map(|u| format_uuid(&u.bytes));
    let nvml = nvml_facts(cuda_uuid.as_deref(), ordinal);
    // NVML's form when it matched one (`MIG-…` for a MIG instance), else CUDA's.
    let uuid = nvml.uuid.clone().or(cuda_uuid);
    // Domain, bus and device may each be 0, so they are read without the `> 0` filter.
    let pci = |a: Attr| ctx.attribute(a).ok().filter(|v| *v >= 0);
    let pci_bus_id = match (
        pci(Attr::CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID),
        pci(Attr::CU_DEVICE_ATTRIBUTE_PCI_BUS_ID),
        pci(Attr::CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID),
    ) {
        (Some(d), Some(b), Some(s)) => Some(format_pci_bus_id(d as u32, b as u32, s as u32)),
        _ => None,
    };
    let max_sm_clock_mhz = attr(Attr::CU_DEVICE_ATTRIBUTE_CLOCK_RATE)
        .map(khz_to_mhz)
        .or(nvml.max_sm_mhz);
    let max_mem_clock_mhz = attr(Attr::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE)
        .map(khz_to_mhz)
        .or(nvml.max_mem_mhz);
    Ok(DeviceInfo {
        backend: crate::backend::BackendKind::Cuda,
        spec_gpu: peak::match_device_name(&name).map(|g| g.key.clone()),
        name,
        ordinal: Some(ordinal),
        uuid,
        pci_bus_id,
        compute_capability: Some(format!("{major}.{minor}")),
        sm_count: attr(Attr::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT).map(|v| v as u32),
        max_sm_clock_mhz,
        max_mem_clock_mhz,
        memory_bytes: ctx.total_mem().ok().map(|b| b as u64),
        l2_bytes: attr(Attr::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE).map(|v| v as u64),
        driver_version: nvml.driver_version,
        cuda_driver_version: Some(format!("{}.{}", driver_cuda.0, driver_cuda.1)),
        cublas_version: cublas.map(|(a, b, c)| format!("{a}.{b}.{c}")),
        cuda_bindings: Some(format!("{}.{}", libs::BINDINGS.0, libs::BINDINGS.1)),
        threads: None,
        simd: None,
    })
}

/// What NVML adds, each part optional.
#[derive(Debug, Default)]
struct NvmlFacts {
    /// The UUID NVML knows the device by, when found by UUID.
    uuid: Option<String>,
    driver_version: Option<String>,
    max_sm_mhz: Option<f64>,
    max_mem_mhz: Option<f64>,
}

/// Reads the driver version and maximum clocks through NVML (libnvidia-ml.so.1). NVML's
/// device order can differ from CUDA's, so the device is found by UUID (`GPU-` or, for a MIG
/// instance, `MIG-`), by index as a last resort. Any failure (no NVML, no permission) leaves
/// the fields empty.
fn nvml_facts(uuid: Option<&str>, ordinal: u32) -> NvmlFacts {
    use nvml_wrapper::enum_wrappers::device::Clock;
    let Ok(nvml) = nvml_wrapper::Nvml::init() else {
        return NvmlFacts::default();
    };
    let mut f = NvmlFacts {
        driver_version: nvml.sys_driver_version().ok(),
        ..Default::default()
    };
    if let Ok((dev, matched)) = crate::backend::nvml::find_device(&nvml, uuid, ordinal) {
        f.uuid = matched;
        let mhz = |c: Clock| dev.max_clock_info(c).ok().filter(|v| *v > 0).map(f64::from);
        f.max_sm_mhz = mhz(Clock::SM);
        f.max_mem_mhz = mhz(Clock::Memory);
    }
    f
}

/// A PCI address as `nvidia-smi` and NVML print it: `DDDDDDDD:BB:SS.0` in upper-case hex
/// (function 0: the driver's attributes give domain, bus and device).
pub(super) fn format_pci_bus_id(domain: u32, bus: u32, device: u32) -> String {
    format!("{domain:08X}:{bus:02X}:{device:02X}.0")
}

/// A CUDA UUID as NVIDIA tools print it: `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub(super) fn format_uuid(bytes: &[c_char; 16]) -> String {
    let h: Vec<String> = bytes.iter().map(|b| format!("{:02x}", *b as u8)).collect();
    format!(
        "GPU-{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

/// Whether a device is a consumer (GeForce-class) part, whose fp32-accumulate tensor rates are
/// half those of the professional parts of the same architecture (docs/sources.md §10).
///
/// Rule: the name says "GeForce" or "TITAN"; or it says "RTX" without a professional marker
/// ("Quadro", "RTX A…", "Ada Generation", "RTX PRO"). Every consumer card's driver name
/// contains "GeForce", so the RTX clause only matters for unusual names.
pub(super) fn is_geforce(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n.contains("geforce") || n.contains("titan") {
        return true;
    }
    let pro =
        n.contains("quadro") || n.contains("rtx a") || n.contains(" ada") || n.contains("rtx pro");
    n.contains("rtx") && !pro
}

/// The error for `cuda:N` past the last GPU (a usage error) or for a machine without GPUs.
pub(super) fn ordinal_error(requested: u32, count: u32) -> anyhow::Error {
    match count {
        0 => anyhow::anyhow!(
            "the NVIDIA driver is installed but reports no GPU (check CUDA_VISIBLE_DEVICES and nvidia-smi); use --device cpu"
        ),
        1 => usage(format!(
            "cuda:{requested} requested but this machine has 1 GPU (cuda:0); use --device cuda:0 or --device cpu"
        )),
        n => usage(format!(
            "cuda:{requested} requested but this machine has {n} GPUs (cuda:0 to cuda:{}); pick one of them or --device cpu",
            n - 1
        )),
    }
}

/// `Ok` when compute capability `cc` runs `dtype` through cuBLASLt; otherwise a usage error
/// naming the dtype, what it needs, what the device has and what to use instead.
pub(super) fn check_dtype(cc: (u32, u32), dtype: DType, device: &str) -> anyhow::Result<()> {
    let need = match dtype {
        DType::Bf16 | DType::Tf32 => (8, 0),
        DType::Fp8 => (8, 9),
        DType::Fp16 | DType::Fp32 | DType::Fp64 => return Ok(()),
    };
    if cc >= need {
        return Ok(());
    }
    let instead = match dtype {
        DType::Fp8 if cc >= (8, 0) => "bf16 or fp16",
        DType::Tf32 => "fp32 or fp16",
        _ => "fp16",
    };
    Err(usage(format!(
        "dtype {dtype} needs compute capability {}.{} or newer, but {device} has {}.{}; use {instead} instead",
        need.0, need.1, cc.0, cc.1
    )))
}

/// Peak TFLOPS from SMs × max SM clock × FLOPs/clock/SM, with the line saying how.
pub(super) fn derived_peak(info: &DeviceInfo, dtype: DType) -> Option<(f64, String)> {
    let cc = info.cc()?;
    let sms = info.sm_count?;
    let mhz = info.max_sm_clock_mhz?;
    let geforce = is_geforce(&info.name);
    let per_sm = peak::flops_per_clock_per_sm(cc, dtype, geforce)?;
    let tflops = peak::derived_peak_tflops(cc, sms, mhz, dtype, geforce)?;
    let kind = if geforce { ", GeForce rates" } else { "" };
    Some((
        tflops,
        format!(
            "{sms} SMs × {mhz:.0} MHz (device max SM clock) × {per_sm:.0} FLOPs/clock/SM (cc {}.{}, {dtype}{kind})",
            cc.0, cc.1
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_format() {
        let mut b = [0 as c_char; 16];
        for (i, x) in b.iter_mut().enumerate() {
            *x = (i as u8 * 17) as c_char;
        }
        assert_eq!(format_uuid(&b), "GPU-00112233-4455-6677-8899-aabbccddeeff");
    }

    #[test]
    fn pci_bus_id_as_nvidia_smi_prints_it() {
        assert_eq!(format_pci_bus_id(0, 0x1b, 0), "00000000:1B:00.0");
        assert_eq!(format_pci_bus_id(1, 0xdb, 3), "00000001:DB:03.0");
    }

    #[test]
    fn geforce_names() {
        for n in [
            "NVIDIA GeForce RTX 4090",
            "NVIDIA GeForce RTX 3080 Ti",
            "NVIDIA TITAN RTX",
        ] {
            assert!(is_geforce(n), "{n}");
        }
        for n in [
            "NVIDIA RTX A6000",
            "NVIDIA RTX 6000 Ada Generation",
            "NVIDIA RTX 4000 SFF Ada Generation",
            "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
            "Quadro RTX 8000",
            "NVIDIA H100 80GB HBM3",
            "NVIDIA L40S",
            "NVIDIA A10",
        ] {
            assert!(!is_geforce(n), "{n}");
        }
    }

    #[test]
    fn ordinal_errors() {
        let e = ordinal_error(3, 1);
        assert!(crate::error::is_usage(&e));
        assert!(e
            .to_string()
            .starts_with("cuda:3 requested but this machine has 1 GPU (cuda:0)"));
        let e = ordinal_error(8, 4).to_string();
        assert!(e.contains("4 GPUs (cuda:0 to cuda:3)"), "{e}");
        let e = ordinal_error(0, 0);
        assert!(!crate::error::is_usage(&e));
        assert!(e.to_string().contains("--device cpu"));
    }

    #[test]
    fn dtype_support_by_compute_capability() {
        assert!(check_dtype((9, 0), DType::Fp8, "cuda:0").is_ok());
        assert!(check_dtype((8, 9), DType::Fp8, "cuda:0").is_ok());
        let e = check_dtype((8, 0), DType::Fp8, "cuda:0 (NVIDIA A100-SXM4-80GB)").unwrap_err();
        assert!(crate::error::is_usage(&e));
        let s = e.to_string();
        assert!(
            s.contains("fp8") && s.contains("8.9") && s.contains("8.0") && s.contains("bf16"),
            "{s}"
        );
        let e = check_dtype((7, 0), DType::Bf16, "cuda:0")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("8.0") && e.contains("7.0") && e.contains("fp16"),
            "{e}"
        );
        assert!(check_dtype((7, 0), DType::Tf32, "x")
            .unwrap_err()
            .to_string()
            .contains("fp32"));
        for d in [DType::Fp16, DType::Fp32, DType::Fp64] {
            assert!(check_dtype((7, 0), d, "x").is_ok());
        }
    }

    #[test]
    fn derived_peak_for_h100() {
        let info = DeviceInfo {
            name: "NVIDIA H100 80GB HBM3".into(),
            compute_capability: Some("9.0".into()),
            sm_count: Some(132),
            max_sm_clock_mhz: Some(1980.0),
            ..Default::default()
        };
        let (p, basis) = derived_peak(&info, DType::Bf16).unwrap();
        assert!((p - 1070.5).abs() < 0.1, "{p}");
        assert_eq!(
            basis,
            "132 SMs × 1980 MHz (device max SM clock) × 4096 FLOPs/clock/SM (cc 9.0, bf16)"
        );
        let no_clock = DeviceInfo {
            max_sm_clock_mhz: None,
            ..info
        };
        assert!(derived_peak(&no_clock, DType::Bf16).is_none());
    }

    #[test]
    fn geforce_rates_in_basis() {
        let info = DeviceInfo {
            name: "NVIDIA GeForce RTX 4090".into(),
            compute_capability: Some("8.9".into()),
            sm_count: Some(128),
            max_sm_clock_mhz: Some(2520.0),
            ..Default::default()
        };
        let (p, basis) = derived_peak(&info, DType::Fp16).unwrap();
        assert!((p - 165.2).abs() < 0.1, "{p}");
        assert!(basis.ends_with("GeForce rates)"), "{basis}");
    }
}
