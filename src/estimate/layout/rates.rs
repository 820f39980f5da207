//! The rates a layout's compute runs at, so the step time can start from the spec sheet, a
//! measured GEMM profile, or a `gpubench calibrate` file of the model's own shapes, through
//! one efficiency model (the module docs of [`super`]).

use std::collections::HashMap;

use crate::calibrate::file::CalibrationFile;
use crate::calibrate::step::GemmKind;

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

/// From a calibration: the measured rate of the model's own linear-layer GEMMs, of its
/// attention products, and the measured copy bandwidth, each × [`LAYER_EFFICIENCY`] for the
/// GEMMs. `None` when the file holds no timed linear-layer product.
pub fn from_calibration(c: &CalibrationFile, origin: &str) -> Option<Rates> {
    let time: HashMap<_, f64> = c.shapes.iter().map(|s| (s.shape, s.median_s)).collect();
    let (mut lin_f, mut lin_s, mut att_f, mut att_s) = (0.0, 0.0, 0.0, 0.0);
    for g in &c.gemms {
        let Some(t) = time.get(&g.shape) else {
            continue;
        };
        let secs = t * g.count as f64;
        if g.kind == GemmKind::AttentionCore {
            att_f += g.flops();
            att_s += secs;
        } else {
            lin_f += g.flops();
            lin_s += secs;
        }
    }
    if lin_s <= 0.0 || lin_f <= 0.0 {
        return None;
    }
    let lin = lin_f / lin_s / 1e12;
    let att = if att_s > 0.0 && att_f > 0.0 {
        att_f / att_s / 1e12
    } else {
        lin * ATTENTION_EFFICIENCY
    };
    let mem = c.bandwidth.bytes_per_s / 1e9;
    Some(Rates {
        compute_tflops: lin * LAYER_EFFICIENCY,
        attention_tflops: att * LAYER_EFFICIENCY,
        memory_gbps: mem,
        note: format!(
            "calibrated on {} ({origin}): linear layers {lin:.1} TFLOPS, attention {att:.1}, copy {mem:.0} GB/s measured, × layer {LAYER_EFFICIENCY}",
            c.device.name
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
    fn calibration_rates_come_from_its_own_shapes() {
        let c = crate::calibrate::tests::tiny_calibration();
        let r = from_calibration(&c, "cal.json").expect("rates");
        assert!(r.compute_tflops > 0.0 && r.attention_tflops > 0.0 && r.memory_gbps > 0.0);
        // The linear-layer rate is the FLOP-weighted rate of its shapes: between their extremes.
        let tf: Vec<f64> = c
            .shapes
            .iter()
            .map(|s| s.tflops * LAYER_EFFICIENCY)
            .collect();
        let (lo, hi) = tf
            .iter()
            .fold((f64::MAX, 0.0f64), |(a, b), v| (a.min(*v), b.max(*v)));
        assert!(r.compute_tflops >= lo * 0.999 && r.compute_tflops <= hi * 1.001);
    }
}
