//! Which NVML device a CUDA device is, so the backend (its maximum clocks) and the telemetry
//! sampler (its clocks and power while timing) read the same GPU.
//!
//! It lives with the backends because the backend reads NVML first, when it opens the device;
//! `telemetry` builds on it and the backend never depends on `telemetry`.
//!
//! NVML numbers GPUs in PCI order while CUDA may not (`CUDA_VISIBLE_DEVICES`,
//! `CUDA_DEVICE_ORDER`), so the GPU is found by UUID when the backend knows it, by index
//! otherwise. A MIG instance has a `MIG-` UUID in NVML while CUDA reports only its 16 bytes,
//! so both prefixes are tried.

use nvml_wrapper::{Device, Nvml};

/// NVML's UUID form (`GPU-8-4-4-4-12` hex, or `MIG-8-4-4-4-12` for a MIG instance) from
/// what a backend recorded: already in that form, or 32 hex digits with or without dashes
/// (taken as `GPU-`). `None` for anything else.
pub fn nvml_uuid(s: &str) -> Option<String> {
    let t = s.trim();
    let (prefix, body) = match (t.strip_prefix("GPU-"), t.strip_prefix("MIG-")) {
        (Some(b), _) => ("GPU", b),
        (_, Some(b)) => ("MIG", b),
        _ => ("GPU", t),
    };
    let hex: String = body.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{prefix}-{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// The UUIDs to ask NVML for, in order: the recorded form, then the same 16 bytes under the
/// other prefix (CUDA reports a MIG instance's UUID as bytes, which gpubench first prints as
/// `GPU-`; NVML knows it as `MIG-`).
pub fn uuid_candidates(s: &str) -> Vec<String> {
    let Some(u) = nvml_uuid(s) else {
        return Vec::new();
    };
    let other = match u.strip_prefix("GPU-") {
        Some(rest) => format!("MIG-{rest}"),
        None => format!("GPU-{}", &u[4..]),
    };
    vec![u, other]
}

/// The NVML device a backend opened: by UUID (either prefix, see [`uuid_candidates`]), else by
/// the CUDA ordinal (right when CUDA and NVML order GPUs alike, as with one GPU). For a MIG
/// instance this is its parent GPU where NVML gives it (clocks, power and temperature belong to
/// the whole GPU). Returns the device and the UUID NVML matched (`None` when found by index).
pub fn find_device<'n>(
    nvml: &'n Nvml,
    uuid: Option<&str>,
    ordinal: u32,
) -> Result<(Device<'n>, Option<String>), String> {
    let candidates = uuid.map(uuid_candidates).unwrap_or_default();
    for u in &candidates {
        if let Ok(d) = nvml.device_by_uuid(u.as_str()) {
            let d = if u.starts_with("MIG-") {
                d.mig_parent_device().unwrap_or(d)
            } else {
                d
            };
            return Ok((d, Some(u.clone())));
        }
    }
    nvml.device_by_index(ordinal)
        .map(|d| (d, None))
        .map_err(|e| match candidates.first() {
            Some(u) => {
                format!("NVML has no GPU with UUID {u} (nor its MIG- form) nor GPU {ordinal} ({e})")
            }
            None => format!("NVML has no GPU {ordinal} ({e})"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_in_nvml_form() {
        let want = Some("GPU-8f3e2a10-1b2c-3d4e-5f60-718293a4b5c6".to_string());
        assert_eq!(nvml_uuid("GPU-8f3e2a10-1b2c-3d4e-5f60-718293a4b5c6"), want);
        assert_eq!(nvml_uuid("8F3E2A101B2C3D4E5F60718293A4B5C6"), want);
        assert_eq!(nvml_uuid("8f3e2a10-1b2c-3d4e-5f60-718293a4b5c6"), want);
        assert_eq!(nvml_uuid("MIG-1234"), None);
        assert_eq!(nvml_uuid(""), None);
        assert_eq!(
            nvml_uuid("MIG-8F3E2A10-1b2c-3d4e-5f60-718293a4b5c6").as_deref(),
            Some("MIG-8f3e2a10-1b2c-3d4e-5f60-718293a4b5c6")
        );
    }

    #[test]
    fn mig_uuids_are_tried_under_both_prefixes() {
        let gpu = "GPU-8f3e2a10-1b2c-3d4e-5f60-718293a4b5c6";
        let mig = "MIG-8f3e2a10-1b2c-3d4e-5f60-718293a4b5c6";
        assert_eq!(uuid_candidates(gpu), [gpu, mig]);
        assert_eq!(uuid_candidates(mig), [mig, gpu]);
        assert!(uuid_candidates("MIG-GPU-1/2/3").is_empty());
    }
}
