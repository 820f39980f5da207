//! The rates a layout's compute runs at, so the step time can start from the spec sheet, a
//! measured GEMM profile, or a `gpubench calibrate` file of the model's own shapes, through
//! one efficiency model (the module docs of [`super`]). A calibration file is read into a
//! [`MeasuredStep`] by `calibrate::rates`, above this layer.

use super::{ATTENTION_EFFICIENCY, GEMM_EFFICIENCY, LAYER_EFFICIENCY, MEMORY_EFFICIENCY};

/// Linear-layer, attention-core and memory rates per GPU, with how they were obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    pub compute_tflops: f64,
    pub attention_tflops: f64,
    pub memory_gbps: f64,
    pub note: String,
}

/// From the spec sheet: peak × GEMM × layer efficiency; the attention core at
/// [`ATTENTION_EFFICIENCY`] of it; datasheet memory bandwidth × [`MEMORY_EFFICIENCY`].
pub fn from_spec(peak_tflops: f64, memory_gbps: f64) -> Rates {
    let c = peak_tflops * GEMM_EFFICIENCY * LAYER_EFFICIENCY;
    Rates {
        compute_tflops: c,
        attention_tflops: c * ATTENTION_EFFICIENCY,
        memory_gbps: memory_gbps * MEMORY_EFFICIENCY,
        note: format!(
            "spec {peak_tflops:.1} TFLOPS × GEMM {GEMM_EFFICIENCY:.3} × layer {LAYER_EFFICIENCY}, attention × {ATTENTION_EFFICIENCY}, memory {memory_gbps:.0} GB/s × {MEMORY_EFFICIENCY} (defaults)"
        ),
    }
}

/// From a measured GEMM throughput (a profile's best result) in place of peak × GEMM efficiency.
pub fn from_measured(measured_tflops: f64, memory_gbps: f64, what: &str) -> Rates {
    let c = measured_tflops * LAYER_EFFICIENCY;
    Rates {
        compute_tflops: c,
        attention_tflops: c * ATTENTION_EFFICIENCY,
        memory_gbps: memory_gbps * MEMORY_EFFICIENCY,
        note: format!(
            "measured {measured_tflops:.1} TFLOPS ({what}) × layer {LAYER_EFFICIENCY}, attention × {ATTENTION_EFFICIENCY}, memory {memory_gbps:.0} GB/s × {MEMORY_EFFICIENCY}"
        ),
    }
}

/// A model's own step as measured on one device (what a calibration file holds), summed
/// by kind: the linear layers' GEMMs, the attention core's batched products, and the copy
/// bandwidth the memory-bound passes run at.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredStep {
    /// The device measured (named in the note).
    pub device: String,
    /// FLOPs and seconds of the linear layers' GEMMs in one step.
    pub linear_flops: f64,
    pub linear_s: f64,
    /// FLOPs and seconds of the attention core's products in one step (zero when the step
    /// has none timed).
    pub attention_flops: f64,
    pub attention_s: f64,
    /// Measured copy bandwidth, bytes per second.
    pub copy_bytes_per_s: f64,
}

/// From a measured step: the linear layers' and the attention core's measured rates, each ×
/// [`LAYER_EFFICIENCY`], and the measured copy bandwidth; an attention core that was not timed
/// runs at [`ATTENTION_EFFICIENCY`] of the linear rate. `None` when no linear-layer product
/// was timed.
pub fn from_step(m: &MeasuredStep, origin: &str) -> Option<Rates> {
    if m.linear_s <= 0.0 || m.linear_flops <= 0.0 {
        return None;
    }
    let lin = m.linear_flops / m.linear_s / 1e12;
    let att = if m.attention_s > 0.0 && m.attention_flops > 0.0 {
        m.attention_flops / m.attention_s / 1e12
    } else {
        lin * ATTENTION_EFFICIENCY
    };
    let mem = m.copy_bytes_per_s / 1e9;
    Some(Rates {
        compute_tflops: lin * LAYER_EFFICIENCY,
        attention_tflops: att * LAYER_EFFICIENCY,
        memory_gbps: mem,
        note: format!(
            "calibrated on {} ({origin}): linear layers {lin:.1} TFLOPS, attention {att:.1}, copy {mem:.0} GB/s measured, × layer {LAYER_EFFICIENCY}",
            m.device
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_and_measured_rates() {
        let r = from_spec(312.0, 2039.0);
        assert!((r.compute_tflops - 271.0 * LAYER_EFFICIENCY).abs() < 1e-9);
        assert!((r.attention_tflops / r.compute_tflops - ATTENTION_EFFICIENCY).abs() < 1e-12);
        assert!((r.memory_gbps - 2039.0 * MEMORY_EFFICIENCY).abs() < 1e-9);
        let m = from_measured(250.0, 2039.0, "profile");
        assert!((m.compute_tflops - 250.0 * LAYER_EFFICIENCY).abs() < 1e-9);
        assert!(m.note.contains("measured 250.0"));
    }

    #[test]
    fn measured_step_rates() {
        let m = MeasuredStep {
            device: "gpu0".into(),
            linear_flops: 200e12,
            linear_s: 1.0,
            attention_flops: 50e12,
            attention_s: 0.5,
            copy_bytes_per_s: 1.5e12,
        };
        let r = from_step(&m, "cal.json").expect("rates");
        assert!((r.compute_tflops - 200.0 * LAYER_EFFICIENCY).abs() < 1e-9);
        assert!((r.attention_tflops - 100.0 * LAYER_EFFICIENCY).abs() < 1e-9);
        assert!((r.memory_gbps - 1500.0).abs() < 1e-9);
        assert!(
            r.note.contains("calibrated on gpu0 (cal.json)"),
            "{}",
            r.note
        );
        // No attention product timed: the default share of the linear rate.
        let r = from_step(
            &MeasuredStep {
                attention_flops: 0.0,
                attention_s: 0.0,
                ..m.clone()
            },
            "cal.json",
        )
        .unwrap();
        assert!((r.attention_tflops / r.compute_tflops - ATTENTION_EFFICIENCY).abs() < 1e-12);
        // No linear-layer product timed: no rates.
        assert!(from_step(&MeasuredStep { linear_s: 0.0, ..m }, "cal.json").is_none());
    }
}
