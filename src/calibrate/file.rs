//! The calibration file, so a step measured once can plan many runs: what `gpubench
//! calibrate` measured and predicted for one model, as versioned JSON, and the throughput
//! `gpubench estimate --calibration` reads from it.
//!
//! Saved atomically under `results/` (through [`crate::profile::OutputTarget`]) with a name
//! that says what it is; loading checks the kind and schema version and names the file and
//! the problem on any error, in one line.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::breakdown::Breakdown;
use super::membound::MemoryPass;
use super::shapes::{Bandwidth, MeasuredShape};
use super::step::StepGemm;
use crate::backend::DeviceInfo;
use crate::dtype::DType;
use crate::error::usage;
use crate::model::ModelConfig;
use crate::profile::{HostInfo, TimingSettings, ToolInfo};

/// The schema version this build writes and reads.
pub const CALIBRATION_SCHEMA_VERSION: u32 = 1;

/// The `kind` every calibration file carries (profiles carry `run`, `sweep`, …).
pub const KIND: &str = "calibration";

/// The step that was calibrated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepInfo {
    pub seq: u64,
    pub micro_batch: u64,
    /// Tensor-parallel ranks the layers are split over; the file holds one rank's products
    /// (1: the whole model on one device).
    #[serde(default = "super::one_rank")]
    pub tp: u64,
    /// `none`, `selective` or `full`.
    pub recompute: String,
    /// QKV and gate/up as single products.
    pub fused: bool,
    pub dtype: DType,
    pub tokens_per_step: u64,
    /// Parameters in matrix products (`N` of 6·N·D).
    pub matmul_params: f64,
    /// Every parameter (what the optimizer updates).
    pub params: f64,
    /// PaLM's attention FLOPs per step.
    pub attention_flops: f64,
    pub optimizer_bytes_per_param: f64,
}

/// A saved calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationFile {
    pub schema_version: u32,
    /// Always [`KIND`].
    pub kind: String,
    pub tool: ToolInfo,
    pub created_utc: String,
    #[serde(default)]
    pub command: Vec<String>,
    pub host: HostInfo,
    pub device: DeviceInfo,
    pub settings: TimingSettings,
    /// Candidate algorithms timed per shape.
    pub algos: usize,
    pub model: ModelConfig,
    pub step: StepInfo,
    pub bandwidth: Bandwidth,
    /// Each distinct shape, measured once.
    pub shapes: Vec<MeasuredShape>,
    /// The step's GEMMs with their calls per step.
    pub gemms: Vec<StepGemm>,
    /// The step's memory-bound passes.
    pub memory_passes: Vec<MemoryPass>,
    pub breakdown: Breakdown,
}

/// What `estimate --calibration` uses in place of a utilization guess.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationThroughput {
    /// Predicted tokens per second on one GPU.
    pub tokens_per_sec_per_gpu: f64,
    /// Predicted seconds per step.
    pub step_time_s: f64,
    /// Model FLOPs utilization against the spec-sheet peak, when the device has one.
    pub mfu: Option<f64>,
    /// Model TFLOPS per GPU (6·N·D + attention, per second).
    pub model_tflops_per_gpu: f64,
    /// The calibrated model's name.
    pub model: String,
    /// One line saying where the figure comes from (device, model, step, file).
    pub description: String,
}

impl CalibrationFile {
    /// Whether every measured shape verified.
    pub fn all_valid(&self) -> bool {
        self.shapes.iter().all(|s| s.valid)
    }

    /// Serializes to pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a calibration always serializes")
    }

    /// Parses a calibration; `origin` names the file in errors.
    pub fn from_json(text: &str, origin: &str) -> anyhow::Result<CalibrationFile> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            usage(format!(
                "{origin}: not a gpubench calibration (invalid JSON: {e})"
            ))
        })?;
        let kind = value.get("kind").and_then(|k| k.as_str());
        if kind != Some(KIND) {
            let what = match kind {
                Some(k) => format!("a gpubench '{k}' profile, not a calibration"),
                None => "not a gpubench calibration (no kind \"calibration\")".into(),
            };
            return Err(usage(format!(
                "{origin}: {what}; make one with 'gpubench calibrate'"
            )));
        }
        match value.get("schema_version").map(|v| (v, v.as_u64())) {
            None => {
                return Err(usage(format!(
                    "{origin}: not a gpubench calibration (no schema_version)"
                )))
            }
            Some((_, Some(v))) if v == CALIBRATION_SCHEMA_VERSION as u64 => {}
            Some((_, Some(v))) => {
                return Err(usage(format!(
                    "{origin}: calibration schema version {v} is not supported by gpubench {} (it reads version {CALIBRATION_SCHEMA_VERSION}); use a matching gpubench or calibrate again",
                    env!("CARGO_PKG_VERSION")
                )))
            }
            Some((v, None)) => {
                return Err(usage(format!(
                    "{origin}: schema_version must be a whole number, found {v}"
                )))
            }
        }
        crate::profile::validate::sanitize(&mut value);
        let file: CalibrationFile = serde_json::from_value(value)
            .map_err(|e| usage(format!("{origin}: malformed calibration: {e}")))?;
        let b = &file.breakdown;
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(b.step_time_s) || !positive(b.tokens_per_sec) {
            return Err(usage(format!(
                "{origin}: malformed calibration: step time and tokens per second must be positive"
            )));
        }
        Ok(file)
    }

    /// Loads a calibration file.
    pub fn load(path: &Path) -> anyhow::Result<CalibrationFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("{}: cannot read calibration: {e}", path.display())))?;
        CalibrationFile::from_json(&text, &path.display().to_string())
    }

    /// `<device>_calibration_<model>_s<seq>_mb<micro-batch>[_tp<t>]_<dtype>[_recompute-<r>]_<date>.json`.
    pub fn default_file_name(&self) -> String {
        let stamp = self
            .created_utc
            .get(..19)
            .unwrap_or(&self.created_utc)
            .replace([':', '-'], "")
            .replace('T', "-");
        let recompute = if self.step.recompute == "none" {
            String::new()
        } else {
            format!("_recompute-{}", self.step.recompute)
        };
        let tp = if self.step.tp > 1 {
            format!("_tp{}", self.step.tp)
        } else {
            String::new()
        };
        format!(
            "{}_calibration_{}_s{}_mb{}{tp}_{}{recompute}_{stamp}.json",
            self.device.slug(),
            crate::backend::slug(&self.model.name),
            self.step.seq,
            self.step.micro_batch,
            self.step.dtype,
        )
    }

    /// The throughput this calibration predicts, with a line saying where it comes from.
    pub fn throughput(&self, origin: &str) -> CalibrationThroughput {
        let b = &self.breakdown;
        CalibrationThroughput {
            tokens_per_sec_per_gpu: b.tokens_per_sec,
            step_time_s: b.step_time_s,
            mfu: b.mfu,
            model_tflops_per_gpu: b.model_tflops,
            model: self.model.name.clone(),
            description: format!(
                "calibrated: {} at seq {}, micro-batch {}{}, {}, recompute {}, measured on {} ({origin})",
                self.model.name,
                self.step.seq,
                self.step.micro_batch,
                if self.step.tp > 1 {
                    format!(
                        ", one of {} tensor-parallel ranks (their communication not included)",
                        self.step.tp
                    )
                } else {
                    String::new()
                },
                self.step.dtype,
                self.step.recompute,
                self.device.name
            ),
        }
    }
}

/// Whether two configurations describe the same network (names may differ).
fn same_architecture(a: &ModelConfig, b: &ModelConfig) -> bool {
    (
        a.layers,
        a.hidden,
        a.heads,
        a.kv_heads,
        a.ffn,
        a.vocab,
        a.head_dim(),
        a.gated_mlp,
    ) == (
        b.layers,
        b.hidden,
        b.heads,
        b.kv_heads,
        b.ffn,
        b.vocab,
        b.head_dim(),
        b.gated_mlp,
    )
}

/// Loads a calibration for planning (`gpubench estimate --calibration FILE`, or `--profile
/// FILE` with a layout). With `model`, the file must have been calibrated for the same
/// architecture; a calibration whose products failed verification is refused. Errors are one
/// line naming the file and the problem (exit 2).
pub fn load_for(path: &Path, model: Option<&ModelConfig>) -> anyhow::Result<CalibrationFile> {
    let origin = path.display().to_string();
    let file = CalibrationFile::load(path)?;
    if !file.all_valid() {
        return Err(usage(format!(
            "{origin}: some products failed verification in this calibration, so its times cannot be trusted; calibrate again"
        )));
    }
    if let Some(m) = model {
        if !same_architecture(m, &file.model) {
            return Err(usage(format!(
                "{origin}: calibrated for {} ({} layers, hidden {}), not for {} ({} layers, hidden {}); run 'gpubench calibrate' for {}",
                file.model.name,
                file.model.layers,
                file.model.hidden,
                m.name,
                m.layers,
                m.hidden,
                m.name
            )));
        }
    }
    Ok(file)
}

/// The throughput of a calibration loaded by [`load_for`], for `gpubench estimate
/// --calibration FILE`.
pub fn load_throughput(
    path: &Path,
    model: Option<&ModelConfig>,
) -> anyhow::Result<CalibrationThroughput> {
    Ok(load_for(path, model)?.throughput(&path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::tests::tiny_calibration;
    use super::*;

    fn json_close(a: &serde_json::Value, b: &serde_json::Value) -> bool {
        use serde_json::Value::*;
        match (a, b) {
            (Number(x), Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
            }
            (Array(x), Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_close(x, y))
            }
            (Object(x), Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| json_close(v, w)))
            }
            _ => a == b,
        }
    }

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn round_trip_and_throughput() {
        let f = tiny_calibration();
        let back = CalibrationFile::from_json(&f.to_json(), "x.json").unwrap();
        // serde_json may round the last bit of a float; everything else must come back.
        let (a, b) = (
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&f).unwrap(),
        );
        assert!(json_close(&a, &b), "round trip changed the file");
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "c.json", &f.to_json());
        let t = load_throughput(&p, None).unwrap();
        assert_eq!(t.tokens_per_sec_per_gpu, f.breakdown.tokens_per_sec);
        assert_eq!(t.step_time_s, f.breakdown.step_time_s);
        assert!(t.description.starts_with(
            "calibrated: tiny-llama at seq 32, micro-batch 2, fp32, recompute selective"
        ));
        assert!(t.description.contains("c.json"));
        // The same architecture under another name is accepted; another one is refused.
        let mut same = f.model.clone();
        same.name = "renamed".into();
        assert!(load_throughput(&p, Some(&same)).is_ok());
        let other = crate::model::lookup("llama-7b").unwrap();
        let e = load_throughput(&p, Some(other)).unwrap_err();
        assert!(crate::error::is_usage(&e));
        assert!(e.to_string().contains("calibrated for tiny-llama"), "{e}");
        let name = f.default_file_name();
        assert!(
            name.contains("_calibration_tiny-llama_s32_mb2_fp32_recompute-selective_"),
            "{name}"
        );
        assert!(name.ends_with(".json"));
    }

    #[test]
    fn bad_files_are_one_line_usage_errors() {
        let f = tiny_calibration();
        let good: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
        let mut newer = good.clone();
        newer["schema_version"] = 99.into();
        let mut profile = good.clone();
        profile["kind"] = "sweep".into();
        let mut no_kind = good.clone();
        no_kind.as_object_mut().unwrap().remove("kind");
        let mut broken = good.clone();
        broken["breakdown"]
            .as_object_mut()
            .unwrap()
            .remove("step_time_s");
        let mut zero = good.clone();
        zero["breakdown"]["step_time_s"] = 0.0.into();
        let mut bad_version = good.clone();
        bad_version["schema_version"] = "one".into();
        let mut invalid = good.clone();
        invalid["shapes"][0]["valid"] = false.into();
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("{", "invalid JSON".to_string()),
            (r#"{"kind":"calibration"}"#, "no schema_version".into()),
            (
                &newer.to_string(),
                "schema version 99 is not supported".into(),
            ),
            (
                &profile.to_string(),
                "a gpubench 'sweep' profile, not a calibration".into(),
            ),
            (&no_kind.to_string(), "not a gpubench calibration".into()),
            (&broken.to_string(), "malformed calibration".into()),
            (&zero.to_string(), "must be positive".into()),
            (&bad_version.to_string(), "must be a whole number".into()),
            (&invalid.to_string(), "failed verification".into()),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let p = write(dir.path(), &format!("bad{i}.json"), text);
            let e = load_throughput(&p, None).unwrap_err();
            assert!(crate::error::is_usage(&e), "{want}");
            let msg = e.to_string();
            assert!(msg.starts_with(&p.display().to_string()), "{msg}");
            assert!(msg.contains(want.as_str()), "{msg} should contain {want}");
            assert!(!msg.contains('\n'), "{msg}");
        }
        let e = load_throughput(&dir.path().join("missing.json"), None).unwrap_err();
        assert!(e.to_string().contains("cannot read calibration"));
    }
}
