//! A calibration file as the rates the layout model runs at, so `gpubench plan` and
//! `gpubench estimate --calibration` price a step with the model's own measured shapes: the
//! file's GEMMs summed by kind into the layout model's [`MeasuredStep`], turned into rates by
//! its formula ([`rates::from_step`]).

use std::collections::HashMap;

use super::file::CalibrationFile;
use super::step::GemmKind;
use crate::estimate::layout::rates::{self, MeasuredStep, Rates};
use crate::estimate::warnings::Warning;

/// The file's step: calls × measured median per GEMM, summed into linear layers and the
/// attention core, with the measured copy bandwidth. GEMMs whose shape was not timed are
/// left out.
pub fn measured_step(c: &CalibrationFile) -> MeasuredStep {
    let time: HashMap<_, f64> = c.shapes.iter().map(|s| (s.shape, s.median_s)).collect();
    let mut m = MeasuredStep {
        device: c.device.name.clone(),
        linear_flops: 0.0,
        linear_s: 0.0,
        attention_flops: 0.0,
        attention_s: 0.0,
        copy_bytes_per_s: c.bandwidth.bytes_per_s,
    };
    for g in &c.gemms {
        let Some(t) = time.get(&g.shape) else {
            continue;
        };
        let secs = t * g.count as f64;
        if g.kind == GemmKind::AttentionCore {
            m.attention_flops += g.flops();
            m.attention_s += secs;
        } else {
            m.linear_flops += g.flops();
            m.linear_s += secs;
        }
    }
    m
}

/// A calibrated step as the warnings name it: `tp 8, micro-batch 1, seq 4096`.
fn describe_step(tp: u64, micro_batch: u64, seq: u64) -> String {
    format!("tp {tp}, micro-batch {micro_batch}, seq {seq}")
}

/// The warning `gpubench plan` gives with a calibration: its rates, measured for one step,
/// price every layout.
pub fn plan_warning(c: &CalibrationFile, origin: &str) -> Warning {
    Warning::PlanCalibration {
        origin: origin.into(),
        calibrated: describe_step(c.step.tp, c.step.micro_batch, c.step.seq),
    }
}

/// The warning when a calibration measured another step than a layout runs: another
/// tensor-parallel degree, micro-batch or sequence length gives its GEMMs other shapes.
/// `model_flag` names the model on the command line that calibrates the layout's own.
pub fn step_mismatch(
    c: &CalibrationFile,
    origin: &str,
    (tp, micro_batch, seq): (u64, u64, u64),
    model_flag: &str,
) -> Option<Warning> {
    let st = &c.step;
    if (st.tp, st.micro_batch, st.seq) == (tp, micro_batch, seq) {
        return None;
    }
    let tp_flag = if tp > 1 {
        format!(" --tp {tp}")
    } else {
        String::new()
    };
    Some(Warning::CalibratedStep {
        origin: origin.into(),
        calibrated: describe_step(st.tp, st.micro_batch, st.seq),
        layout: describe_step(tp, micro_batch, seq),
        command: format!(
            "gpubench calibrate {model_flag}{tp_flag} --micro-batch {micro_batch} --seq {seq}"
        ),
    })
}

/// The layout model's rates from a calibration (`origin` names the file in the note); `None`
/// when the file holds no timed linear-layer product.
pub fn layout_rates(c: &CalibrationFile, origin: &str) -> Option<Rates> {
    rates::from_step(&measured_step(c), origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::layout::LAYER_EFFICIENCY;

    #[test]
    fn calibration_rates_come_from_its_own_shapes() {
        let c = crate::calibrate::tests::tiny_calibration();
        let r = layout_rates(&c, "cal.json").expect("rates");
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

    #[test]
    fn another_step_shape_is_named_with_the_command_for_this_one() {
        let c = crate::calibrate::tests::tiny_calibration();
        let (b, s) = (c.step.micro_batch, c.step.seq);
        assert!(step_mismatch(&c, "cal.json", (1, b, s), "--model tiny").is_none());
        let w = step_mismatch(&c, "cal.json", (2, b, 4 * s), "--model tiny")
            .expect("another step")
            .to_string();
        assert!(
            w.starts_with(&format!(
                "cal.json was calibrated at tp 1, micro-batch {b}, seq {s}, this layout runs tp 2, micro-batch {b}, seq {}",
                4 * s
            )),
            "{w}"
        );
        assert!(
            w.contains(&format!(
                "'gpubench calibrate --model tiny --tp 2 --micro-batch {b} --seq {}'",
                4 * s
            )),
            "{w}"
        );
        let w = step_mismatch(&c, "cal.json", (1, b + 1, s), "--model tiny")
            .unwrap()
            .to_string();
        assert!(
            w.contains(&format!(
                "'gpubench calibrate --model tiny --micro-batch {}",
                b + 1
            )),
            "{w}"
        );
    }

    #[test]
    fn untimed_shapes_are_left_out() {
        let mut c = crate::calibrate::tests::tiny_calibration();
        let all = measured_step(&c);
        c.shapes.clear();
        let none = measured_step(&c);
        assert!(all.linear_s > 0.0 && all.linear_flops > 0.0);
        assert_eq!((none.linear_s, none.attention_s), (0.0, 0.0));
        assert!(layout_rates(&c, "cal.json").is_none());
    }
}
