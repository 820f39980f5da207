//! NVML (through nvml-wrapper, which loads `libnvidia-ml.so.1` at run time): find the GPU a
//! backend opened and read its clocks, power, temperature and throttle reasons.
//!
//! NVML numbers GPUs in PCI order while CUDA may not (`CUDA_VISIBLE_DEVICES`, `CUDA_DEVICE_ORDER`),
//! so the GPU is found by UUID when the backend knows it, by index otherwise.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::{Device, Nvml};

use super::sampler::{Reading, Sampler};
use crate::backend::DeviceInfo;

/// How often the sampler reads NVML.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(20);

/// Starts NVML telemetry for the GPU a backend opened.
pub fn start(info: &DeviceInfo, interval: Duration) -> Result<Sampler, String> {
    let uuid = info.uuid.as_deref().and_then(nvml_uuid);
    let ordinal = info.ordinal.unwrap_or(0);
    Sampler::spawn(interval, move |run| {
        let nvml = Nvml::init().map_err(|e| format!("NVML could not be loaded ({e})"))?;
        let dev = match &uuid {
            Some(u) => nvml
                .device_by_uuid(u.as_str())
                .map_err(|e| format!("NVML has no GPU with UUID {u} ({e})"))?,
            None => nvml
                .device_by_index(ordinal)
                .map_err(|e| format!("NVML has no GPU {ordinal} ({e})"))?,
        };
        let name = dev.name().unwrap_or_else(|_| "GPU".into());
        run(&name, &mut || read(&dev));
        Ok(())
    })
}

fn read(dev: &Device<'_>) -> Reading {
    Reading {
        at: Instant::now(),
        sm_clock_mhz: dev.clock_info(Clock::SM).ok().map(f64::from),
        mem_clock_mhz: dev.clock_info(Clock::Memory).ok().map(f64::from),
        power_w: dev.power_usage().ok().map(|mw| mw as f64 / 1000.0),
        temperature_c: dev.temperature(TemperatureSensor::Gpu).ok().map(f64::from),
        throttle_bits: dev.current_throttle_reasons().ok().map(|r| r.bits()),
    }
}

/// NVML's UUID form (`GPU-8-4-4-4-12` hex) from what a backend recorded: already in that
/// form, or 32 hex digits with or without dashes. `None` for anything else.
pub fn nvml_uuid(s: &str) -> Option<String> {
    let t = s.trim();
    let body = t.strip_prefix("GPU-").unwrap_or(t);
    let hex: String = body.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "GPU-{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

static NOTICE_SHOWN: AtomicBool = AtomicBool::new(false);

/// The sampler for a backend: NVML on a CUDA device, nothing on the CPU. Where NVML cannot
/// be used, prints a one-line notice (once per process) and returns `None`.
pub fn for_device(info: &DeviceInfo) -> Option<Sampler> {
    if info.backend != "cuda" {
        return None;
    }
    match start(info, DEFAULT_INTERVAL) {
        Ok(s) => Some(s),
        Err(e) => {
            if !NOTICE_SHOWN.swap(true, Ordering::Relaxed) {
                eprintln!("notice: no clock/power telemetry: {e}; measuring without it");
            }
            None
        }
    }
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
    }

    #[test]
    fn cpu_has_no_sampler() {
        let info = DeviceInfo {
            backend: "cpu".into(),
            ..Default::default()
        };
        assert!(for_device(&info).is_none());
    }

    #[test]
    #[ignore = "needs a GPU"]
    fn nvml_reads_the_first_gpu() {
        let info = DeviceInfo {
            backend: "cuda".into(),
            ordinal: Some(0),
            ..Default::default()
        };
        let s = start(&info, Duration::from_millis(10)).expect("NVML loads on a GPU machine");
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_millis(200));
        let w = s.window(t0, Instant::now());
        assert!(w.len() >= 5);
        assert!(w.iter().all(|r| r.sm_clock_mhz.is_some_and(|c| c > 0.0)));
        assert!(w.iter().any(|r| r.power_w.is_some_and(|p| p > 0.0)));
    }
}
