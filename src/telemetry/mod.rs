//! GPU telemetry: SM and memory clocks, power, temperature and throttle reasons sampled by a
//! background thread while products are timed, and the per-result summary stored in the
//! profile (`GemmResult.telemetry`; the [`Telemetry`] type is the profile's, re-exported here
//! so that loading a profile never depends on the sampler).
//!
//! Throughput is only half the story: a GPU that reaches 790 TFLOPS for two seconds and
//! 700 after a minute, because its clock fell under the power cap, is a 700-TFLOPS GPU for
//! training. The sampler reads NVML ([`nvml`], loaded at run time) every few milliseconds;
//! each measurement takes the readings inside its timed window and [`summarize`]s them.
//! Where NVML is absent the command says so once and goes on without telemetry.

pub mod nvml;
pub mod sampler;

pub use crate::profile::{Telemetry, TimelinePoint};
pub use sampler::{Reading, Sampler};

/// A clock that falls by more than this fraction of its maximum within one measurement is
/// reported as having fallen.
pub const CLOCK_FALL_FRACTION: f64 = 0.03;

/// NVML throttle-reason bits, their names, and whether they lower the clock below what the
/// workload could run at (idle and settings chosen by the administrator do not count).
pub const THROTTLE_REASONS: [(u64, &str, bool); 10] = [
    (0x1, "gpu_idle", false),
    (0x2, "applications_clocks_setting", false),
    (0x4, "sw_power_cap", true),
    (0x8, "hw_slowdown", true),
    (0x10, "sync_boost", true),
    (0x20, "sw_thermal_slowdown", true),
    (0x40, "hw_thermal_slowdown", true),
    (0x80, "hw_power_brake_slowdown", true),
    (0x100, "display_clock_setting", false),
    (0, "", false),
];

/// Names of the reasons set in `bits`.
pub fn throttle_names(bits: u64) -> Vec<&'static str> {
    THROTTLE_REASONS
        .iter()
        .filter(|(b, _, _)| *b != 0 && bits & b != 0)
        .map(|(_, n, _)| *n)
        .collect()
}

/// Whether a reason name lowers the clock below what the workload could run at.
pub fn is_limiting(name: &str) -> bool {
    THROTTLE_REASONS
        .iter()
        .any(|(_, n, limiting)| *n == name && *limiting)
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn max(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::max)
}

fn min(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::min)
}

/// The aggregate of a set of readings (no derived figures).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Aggregate {
    pub samples: usize,
    pub sm_min: Option<f64>,
    pub sm_mean: Option<f64>,
    pub sm_max: Option<f64>,
    pub mem_mean: Option<f64>,
    pub power_mean: Option<f64>,
    pub power_max: Option<f64>,
    pub temp_max: Option<f64>,
    pub reasons: Vec<String>,
}

/// Aggregates readings: min/mean/max SM clock, mean memory clock, mean/max power, max
/// temperature, and the union of throttle reasons.
pub fn aggregate(readings: &[Reading]) -> Aggregate {
    let col = |f: fn(&Reading) -> Option<f64>| -> Vec<f64> {
        readings
            .iter()
            .filter_map(f)
            .filter(|x| x.is_finite())
            .collect()
    };
    let sm = col(|r| r.sm_clock_mhz);
    let mem = col(|r| r.mem_clock_mhz);
    let pw = col(|r| r.power_w);
    let temp = col(|r| r.temperature_c);
    let bits = readings
        .iter()
        .filter_map(|r| r.throttle_bits)
        .fold(0u64, |a, b| a | b);
    Aggregate {
        samples: readings.len(),
        sm_min: min(&sm),
        sm_mean: mean(&sm),
        sm_max: max(&sm),
        mem_mean: mean(&mem),
        power_mean: mean(&pw),
        power_max: max(&pw),
        temp_max: max(&temp),
        reasons: throttle_names(bits).into_iter().map(String::from).collect(),
    }
}

/// The summary of the readings taken while one result was timed. `median_s` is the median
/// time of one product and `tflops` the measured throughput.
pub fn summarize(readings: &[Reading], median_s: f64, tflops: f64) -> Telemetry {
    let a = aggregate(readings);
    let power = a.power_mean.filter(|p| *p > 0.0);
    Telemetry {
        source: "nvml".into(),
        samples: a.samples,
        sm_clock_mhz_min: a.sm_min,
        sm_clock_mhz_mean: a.sm_mean,
        sm_clock_mhz_max: a.sm_max,
        mem_clock_mhz_mean: a.mem_mean,
        power_w_mean: a.power_mean,
        power_w_max: a.power_max,
        temperature_c_max: a.temp_max,
        throttle_reasons: a.reasons,
        energy_per_product_j: power.map(|p| p * median_s),
        tflops_per_watt: power.map(|p| tflops / p),
        timeline: None,
    }
}

/// A one-line warning when the SM clock fell during the measurement or a limiting throttle
/// reason was active; `None` when neither happened.
pub fn warning(t: &Telemetry) -> Option<String> {
    let mut parts = Vec::new();
    if let (Some(lo), Some(hi)) = (t.sm_clock_mhz_min, t.sm_clock_mhz_max) {
        if hi > 0.0 && lo < hi * (1.0 - CLOCK_FALL_FRACTION) {
            parts.push(format!(
                "SM clock fell from {hi:.0} to {lo:.0} MHz (measured, NVML)"
            ));
        }
    }
    let limiting: Vec<&str> = t
        .throttle_reasons
        .iter()
        .map(String::as_str)
        .filter(|n| is_limiting(n))
        .collect();
    if !limiting.is_empty() {
        parts.push(format!("throttle reasons active: {}", limiting.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Adds to a GPU result's peaks the derived peak at the mean SM clock its telemetry measured:
/// the derived peak is SMs × clock × FLOPs/clock/SM at the device's maximum SM clock
/// (`max_sm_clock_mhz`), so at the measured clock it scales by measured / maximum. Nothing
/// changes without a derived peak, a maximum clock or a measured clock.
pub fn set_peak_at_measured_clock(
    r: &mut crate::profile::GemmResult,
    t: &Telemetry,
    info: &crate::backend::DeviceInfo,
) {
    if info.backend != crate::backend::BackendKind::Cuda {
        return;
    }
    let (Some(derived), Some(max), Some(mean)) = (
        r.peak.derived_tflops,
        info.max_sm_clock_mhz,
        t.sm_clock_mhz_mean,
    ) else {
        return;
    };
    if !(max > 0.0 && mean > 0.0 && derived.is_finite()) {
        return;
    }
    r.peak.derived_at_measured_clock_tflops = Some(derived * mean / max);
    r.peak.measured_sm_clock_mhz = Some(mean);
}

/// A copy of a result's telemetry (`None` when it has none).
pub fn of_result(r: &crate::profile::GemmResult) -> Option<Telemetry> {
    r.telemetry.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn reading(sm: f64, power: f64, bits: u64) -> Reading {
        Reading {
            at: Instant::now(),
            sm_clock_mhz: Some(sm),
            mem_clock_mhz: Some(2619.0),
            power_w: Some(power),
            temperature_c: Some(60.0 + power / 100.0),
            throttle_bits: Some(bits),
        }
    }

    #[test]
    fn summary_of_readings() {
        let rs = [
            reading(1980.0, 500.0, 0),
            reading(1900.0, 700.0, 0x4),
            reading(1755.0, 690.0, 0x4 | 0x1),
        ];
        let t = summarize(&rs, 0.0014, 785.0);
        assert_eq!(t.samples, 3);
        assert_eq!(t.sm_clock_mhz_min, Some(1755.0));
        assert_eq!(t.sm_clock_mhz_max, Some(1980.0));
        assert!((t.sm_clock_mhz_mean.unwrap() - 1878.333).abs() < 0.01);
        assert!((t.power_w_mean.unwrap() - 630.0).abs() < 1e-9);
        assert_eq!(t.power_w_max, Some(700.0));
        assert_eq!(t.temperature_c_max, Some(67.0));
        assert_eq!(t.throttle_reasons, vec!["gpu_idle", "sw_power_cap"]);
        assert!((t.energy_per_product_j.unwrap() - 630.0 * 0.0014).abs() < 1e-12);
        assert!((t.tflops_per_watt.unwrap() - 785.0 / 630.0).abs() < 1e-12);
        let w = warning(&t).unwrap();
        assert!(w.contains("fell from 1980 to 1755 MHz"), "{w}");
        assert!(w.contains("sw_power_cap") && !w.contains("gpu_idle"), "{w}");
    }

    #[test]
    fn json_keys_are_stable() {
        let t = summarize(&[reading(1980.0, 500.0, 0)], 0.001, 500.0);
        let v = serde_json::to_value(&t).unwrap();
        for key in [
            "sm_clock_mhz_min",
            "sm_clock_mhz_mean",
            "sm_clock_mhz_max",
            "mem_clock_mhz_mean",
            "power_w_mean",
            "power_w_max",
            "temperature_c_max",
            "throttle_reasons",
            "energy_per_product_j",
            "tflops_per_watt",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
        assert_eq!(v["power_w_mean"].as_f64(), Some(500.0));
        let back: Telemetry = serde_json::from_value(v).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn steady_clock_and_idle_give_no_warning() {
        let rs = [reading(1980.0, 300.0, 0x1), reading(1965.0, 310.0, 0)];
        assert_eq!(warning(&summarize(&rs, 0.01, 10.0)), None);
        let empty = summarize(&[], 0.01, 10.0);
        assert_eq!(empty.power_w_mean, None);
        assert_eq!(empty.energy_per_product_j, None);
        assert_eq!(warning(&empty), None);
    }

    #[test]
    fn peak_at_measured_clock_scales_the_derived_peak() {
        let profile: crate::profile::Profile = serde_json::from_str(include_str!(
            "../../results/amd-epyc_fp32-fp64_n2048_20261124-004420.json"
        ))
        .unwrap();
        let mut r = profile.results[0].clone();
        r.peak.derived_tflops = Some(989.4);
        let mut info = crate::backend::DeviceInfo {
            backend: crate::backend::BackendKind::Cuda,
            max_sm_clock_mhz: Some(1980.0),
            ..Default::default()
        };
        let t = summarize(
            &[reading(1800.0, 690.0, 0x4), reading(1700.0, 700.0, 0x4)],
            0.001,
            700.0,
        );
        set_peak_at_measured_clock(&mut r, &t, &info);
        let p = r.peak.derived_at_measured_clock_tflops.unwrap();
        assert!((p - 989.4 * 1750.0 / 1980.0).abs() < 1e-9, "{p}");
        assert_eq!(r.peak.measured_sm_clock_mhz, Some(1750.0));
        let v = serde_json::to_value(&r.peak).unwrap();
        assert!(v.get("derived_at_measured_clock_tflops").is_some(), "{v}");
        // the CPU backend, or no clock, adds nothing
        let mut cpu = profile.results[0].clone();
        info.backend = crate::backend::BackendKind::Cpu;
        set_peak_at_measured_clock(&mut cpu, &t, &info);
        assert_eq!(cpu.peak.derived_at_measured_clock_tflops, None);
        let v = serde_json::to_value(&cpu.peak).unwrap();
        assert!(v.get("derived_at_measured_clock_tflops").is_none(), "{v}");
        info.backend = crate::backend::BackendKind::Cuda;
        set_peak_at_measured_clock(&mut cpu, &summarize(&[], 0.001, 1.0), &info);
        assert_eq!(cpu.peak.measured_sm_clock_mhz, None);
    }

    #[test]
    fn throttle_bits_match_nvml() {
        use nvml_wrapper::bitmasks::device::ThrottleReasons as T;
        let pairs = [
            (T::GPU_IDLE, "gpu_idle"),
            (
                T::APPLICATIONS_CLOCKS_SETTING,
                "applications_clocks_setting",
            ),
            (T::SW_POWER_CAP, "sw_power_cap"),
            (T::HW_SLOWDOWN, "hw_slowdown"),
            (T::SYNC_BOOST, "sync_boost"),
            (T::SW_THERMAL_SLOWDOWN, "sw_thermal_slowdown"),
            (T::HW_THERMAL_SLOWDOWN, "hw_thermal_slowdown"),
            (T::HW_POWER_BRAKE_SLOWDOWN, "hw_power_brake_slowdown"),
            (T::DISPLAY_CLOCK_SETTING, "display_clock_setting"),
        ];
        for (flag, name) in pairs {
            assert_eq!(throttle_names(flag.bits()), vec![name]);
        }
    }
}
