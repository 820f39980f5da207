//! NVML (through nvml-wrapper, which loads `libnvidia-ml.so.1` at run time): find the GPU a
//! backend opened and read its clocks, power, temperature and throttle reasons.
//!
//! The GPU is found as the backend found its facts ([`crate::backend::nvml::find_device`]: by
//! UUID when the backend knows it, by index otherwise).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::{Device, Nvml};

use super::sampler::{Reading, Sampler};
use crate::backend::nvml::find_device;
use crate::backend::DeviceInfo;

/// How often the sampler reads NVML.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(20);

/// Starts NVML telemetry for the GPU a backend opened.
pub fn start(info: &DeviceInfo, interval: Duration) -> Result<Sampler, String> {
    let uuid = info.uuid.clone();
    let ordinal = info.ordinal.unwrap_or(0);
    Sampler::spawn(interval, move |run| {
        let nvml = Nvml::init().map_err(|e| format!("NVML could not be loaded ({e})"))?;
        let (dev, _) = find_device(&nvml, uuid.as_deref(), ordinal)?;
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

static NOTICE_SHOWN: AtomicBool = AtomicBool::new(false);

/// The sampler for a backend: NVML on a CUDA device, nothing on the CPU. Where NVML cannot
/// be used, prints a one-line notice (once per process) and returns `None`.
pub fn for_device(info: &DeviceInfo) -> Option<Sampler> {
    if info.backend != crate::backend::BackendKind::Cuda {
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
    fn cpu_has_no_sampler() {
        let info = DeviceInfo {
            backend: crate::backend::BackendKind::Cpu,
            ..Default::default()
        };
        assert!(for_device(&info).is_none());
    }

    #[test]
    #[ignore = "needs a GPU"]
    fn nvml_reads_the_first_gpu() {
        let info = DeviceInfo {
            backend: crate::backend::BackendKind::Cuda,
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
