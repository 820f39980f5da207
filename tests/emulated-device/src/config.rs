//! The emulated device's configuration, from `GPUBENCH_EMU_*` environment variables (listed in
//! the crate documentation), so each test picks the GPU and the faults it needs.

use std::env;

/// Product rates in TFLOPS, by the dtype gpubench would call it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub fp64: f64,
    pub fp32: f64,
    pub tf32: f64,
    pub fp16: f64,
    pub bf16: f64,
    pub fp8: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub devices: u32,
    pub name: String,
    pub cc: (u32, u32),
    pub sms: u32,
    pub sm_clock_mhz: u32,
    pub mem_clock_mhz: u32,
    pub memory_bytes: u64,
    pub rates: Rates,
    /// Host cost of one enqueuing call, ns.
    pub launch_ns: f64,
    /// Device memory bandwidth, bytes per ns (= GB/s).
    pub bandwidth: f64,
    /// `cuDriverGetVersion` (1000·major + 10·minor).
    pub driver_cuda: i32,
    pub driver_version: String,
    pub candidates: u32,
    /// `cublasLtGetProperty`'s (major, minor, patch).
    pub cublas_version: (i32, i32, i32),
    /// Every device is a MIG instance (NVML knows it by a `MIG-` UUID only).
    pub mig: bool,
    pub report: Option<String>,
    pub oom_at: Option<u64>,
    pub no_algo: bool,
    pub wrong_candidate: Option<u32>,
    pub lost_after: Option<u64>,
    pub throttle_after_products: Option<u64>,
    pub throttle_after_ns: Option<f64>,
    pub throttle_clock: f64,
    /// Only this device throttles (every device when absent).
    pub throttle_device: Option<u32>,
    pub slow_device: Option<u32>,
    pub slow_factor: f64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            devices: 1,
            name: "gpubench Emulated GPU (test double, not a measurement)".into(),
            cc: (9, 0),
            sms: 132,
            sm_clock_mhz: 1980,
            mem_clock_mhz: 2619,
            memory_bytes: 80 << 30,
            rates: Rates {
                fp64: 50.0,
                fp32: 50.0,
                tf32: 400.0,
                fp16: 800.0,
                bf16: 800.0,
                fp8: 1600.0,
            },
            launch_ns: 5_000.0,
            bandwidth: 2000.0,
            driver_cuda: 13000,
            driver_version: "580.00.emulated".into(),
            candidates: 4,
            cublas_version: (13, 1, 0),
            mig: false,
            report: None,
            oom_at: None,
            no_algo: false,
            wrong_candidate: None,
            lost_after: None,
            throttle_after_products: None,
            throttle_after_ns: None,
            throttle_clock: 0.7,
            throttle_device: None,
            slow_device: None,
            slow_factor: 0.5,
        }
    }
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn num<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    match var(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name}={v} is not a valid number")),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let mut c = Config::default();
        if let Some(v) = num("GPUBENCH_EMU_DEVICES")? {
            c.devices = v;
        }
        if let Some(v) = var("GPUBENCH_EMU_NAME") {
            if !v.contains("Emulated") {
                return Err(format!(
                    "GPUBENCH_EMU_NAME={v} must contain \"Emulated\" (profiles must say they are not measurements)"
                ));
            }
            c.name = v;
        }
        if let Some(v) = var("GPUBENCH_EMU_CC") {
            c.cc = parse_cc(&v).ok_or(format!("GPUBENCH_EMU_CC={v} is not major.minor"))?;
        }
        if let Some(v) = num("GPUBENCH_EMU_SMS")? {
            c.sms = v;
        }
        if let Some(v) = num("GPUBENCH_EMU_SM_CLOCK_MHZ")? {
            c.sm_clock_mhz = v;
        }
        if let Some(v) = num("GPUBENCH_EMU_MEM_CLOCK_MHZ")? {
            c.mem_clock_mhz = v;
        }
        if let Some(v) = num::<f64>("GPUBENCH_EMU_MEMORY_GIB")? {
            c.memory_bytes = (v * (1u64 << 30) as f64) as u64;
        }
        if let Some(v) = var("GPUBENCH_EMU_RATE_TFLOPS") {
            parse_rates(&v, &mut c.rates)?;
        }
        if let Some(v) = num::<f64>("GPUBENCH_EMU_LAUNCH_US")? {
            c.launch_ns = v * 1e3;
        }
        if let Some(v) = num("GPUBENCH_EMU_BANDWIDTH_GBS")? {
            c.bandwidth = v;
        }
        if let Some(v) = num("GPUBENCH_EMU_DRIVER_CUDA")? {
            c.driver_cuda = v;
        }
        if let Some(v) = var("GPUBENCH_EMU_DRIVER_VERSION") {
            c.driver_version = v;
        }
        if let Some(v) = num("GPUBENCH_EMU_CANDIDATES")? {
            c.candidates = v;
        }
        c.mig = var("GPUBENCH_EMU_MIG").is_some_and(|v| v != "0");
        if let Some(v) = var("GPUBENCH_EMU_CUBLAS_VERSION") {
            let parts: Vec<Option<i32>> = v.split('.').map(|p| p.trim().parse().ok()).collect();
            match parts[..] {
                [Some(x), Some(y), Some(z)] => c.cublas_version = (x, y, z),
                _ => {
                    return Err(format!(
                        "GPUBENCH_EMU_CUBLAS_VERSION={v} is not major.minor.patch"
                    ))
                }
            }
        }
        c.report = var("GPUBENCH_EMU_REPORT");
        c.oom_at = num("GPUBENCH_EMU_OOM_AT")?;
        c.no_algo = var("GPUBENCH_EMU_NO_ALGO").is_some_and(|v| v != "0");
        c.wrong_candidate = num("GPUBENCH_EMU_WRONG_CANDIDATE")?;
        c.lost_after = num("GPUBENCH_EMU_LOST_AFTER")?;
        c.throttle_after_products = num("GPUBENCH_EMU_THROTTLE_AFTER_PRODUCTS")?;
        c.throttle_after_ns = num::<f64>("GPUBENCH_EMU_THROTTLE_AFTER_MS")?.map(|ms| ms * 1e6);
        if let Some(v) = num("GPUBENCH_EMU_THROTTLE_CLOCK")? {
            c.throttle_clock = v;
        }
        c.throttle_device = num("GPUBENCH_EMU_THROTTLE_DEVICE")?;
        c.slow_device = num("GPUBENCH_EMU_SLOW_DEVICE")?;
        if let Some(v) = num("GPUBENCH_EMU_SLOW_FACTOR")? {
            c.slow_factor = v;
        }
        if !(c.throttle_clock > 0.0 && c.throttle_clock <= 1.0) {
            return Err("GPUBENCH_EMU_THROTTLE_CLOCK must be in (0, 1]".into());
        }
        if c.slow_factor <= 0.0 || c.bandwidth <= 0.0 || c.launch_ns < 0.0 {
            return Err(
                "GPUBENCH_EMU_SLOW_FACTOR and _BANDWIDTH_GBS must be > 0, _LAUNCH_US >= 0".into(),
            );
        }
        Ok(c)
    }

    /// The PTX ISA version the driver's JIT accepts (`.version` in PTX text).
    pub fn ptx_isa(&self) -> (u32, u32) {
        ptx_isa_of(self.driver_cuda)
    }
}

/// PTX ISA of a driver CUDA version: 13.x → 9.x; 12.0–12.5 → 8.0–8.5; 12.6 → 8.5;
/// 12.8 → 8.7; 12.9 → 8.8; 11.8 → 7.8.
pub fn ptx_isa_of(driver_cuda: i32) -> (u32, u32) {
    let (major, minor) = (
        (driver_cuda / 1000) as u32,
        ((driver_cuda % 1000) / 10) as u32,
    );
    match (major, minor) {
        (m, n) if m >= 13 => (9 + (m - 13), n),
        (12, n) if n <= 5 => (8, n),
        (12, 6) | (12, 7) => (8, 5),
        (12, n) => (8, n - 1),
        (11, n) => (7, n),
        _ => (6, 0),
    }
}

fn parse_cc(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn parse_rates(s: &str, r: &mut Rates) -> Result<(), String> {
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part.split_once('=').ok_or(format!(
            "GPUBENCH_EMU_RATE_TFLOPS: `{part}` is not dtype=TFLOPS"
        ))?;
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| format!("GPUBENCH_EMU_RATE_TFLOPS: `{part}` is not dtype=TFLOPS"))?;
        let slot = match k.trim() {
            "fp64" => &mut r.fp64,
            "fp32" => &mut r.fp32,
            "tf32" => &mut r.tf32,
            "fp16" => &mut r.fp16,
            "bf16" => &mut r.bf16,
            "fp8" => &mut r.fp8,
            other => return Err(format!("GPUBENCH_EMU_RATE_TFLOPS: unknown dtype {other}")),
        };
        *slot = v;
    }
    Ok(())
}
