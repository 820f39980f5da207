//! Training memory per GPU, to tell whether a run fits before it is launched: weights,
//! gradients, optimizer states, fp32 master weights, activations and the CUDA context, with
//! ZeRO sharding.
//!
//! Sources: `docs/sources.md` §4 (6B in fp32 with AdamW: 24 + 24 + 48 GB + 1.3 GB of CUDA context
//! ≈ 97 GB; mixed precision 16 bytes per parameter); ZeRO stages (Rajbhandari et al. 2020):
//! stage 1 shards the optimizer states (with the fp32 master weights), stage 2 also the
//! gradients, stage 3 also the weights, each across the data-parallel GPUs; activations per
//! layer (Korthikanti et al. 2022, Table 2, no tensor parallelism, 16-bit activations):
//! s·b·h·(34 + 5·a·s/h) bytes, s·b·h·34 with selective recomputation, 2·s·b·h with full
//! recomputation (only each layer's input is kept).

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::compute::Recompute;
use super::Sourced;
use crate::dtype::DType;

/// Training precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in fp32.
    Fp32,
    /// Mixed precision: bf16 weights and gradients, fp32 master weights and optimizer states.
    Bf16,
    /// Mixed precision with fp16 (same bytes as bf16).
    Fp16,
}

impl Precision {
    /// Name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
            Precision::Fp16 => "fp16",
        }
    }

    /// Bytes of one activation element.
    pub fn activation_bytes(self) -> f64 {
        match self {
            Precision::Fp32 => 4.0,
            Precision::Bf16 | Precision::Fp16 => 2.0,
        }
    }
}

/// Optimizer, for the bytes of state it keeps per parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Optimizer {
    /// AdamW: two fp32 moments (8 bytes).
    Adamw,
    /// Adam: two fp32 moments (8 bytes).
    Adam,
    /// Plain SGD: no state.
    Sgd,
    /// SGD with momentum: one fp32 buffer (4 bytes).
    SgdMomentum,
    /// 8-bit Adam (bitsandbytes): two 1-byte moments (2 bytes).
    #[value(name = "adam-8bit")]
    #[serde(rename = "adam-8bit")]
    Adam8bit,
}

impl Optimizer {
    /// Name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Adamw => "adamw",
            Optimizer::Adam => "adam",
            Optimizer::Sgd => "sgd",
            Optimizer::SgdMomentum => "sgd-momentum",
            Optimizer::Adam8bit => "adam-8bit",
        }
    }

    /// Bytes of optimizer state per parameter.
    pub fn state_bytes(self) -> f64 {
        match self {
            Optimizer::Adamw | Optimizer::Adam => 8.0,
            Optimizer::Sgd => 0.0,
            Optimizer::SgdMomentum => 4.0,
            Optimizer::Adam8bit => 2.0,
        }
    }
}

/// Bytes per parameter of each kind of training state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BytesPerParam {
    pub weights: f64,
    pub gradients: f64,
    /// fp32 master copy of the weights (mixed precision only).
    pub master: f64,
    pub optimizer: f64,
}

impl BytesPerParam {
    /// The bytes for a precision and an optimizer: fp32 4 + 4 (+ state); mixed 2 + 2 + 4
    /// (+ state), so mixed precision with Adam is 16.
    pub fn of(precision: Precision, optimizer: Optimizer) -> Self {
        let (weights, gradients, master) = match precision {
            Precision::Fp32 => (4.0, 4.0, 0.0),
            Precision::Bf16 | Precision::Fp16 => (2.0, 2.0, 4.0),
        };
        BytesPerParam {
            weights,
            gradients,
            master,
            optimizer: optimizer.state_bytes(),
        }
    }

    /// All bytes per parameter.
    pub fn total(&self) -> f64 {
        self.weights + self.gradients + self.master + self.optimizer
    }
}

/// What ZeRO stage `stage` divides by `gpus` for each kind of state (1 = not sharded).
fn zero_divisors(stage: u8, gpus: f64) -> (f64, f64, f64) {
    // (weights, gradients, master + optimizer)
    match stage {
        0 => (1.0, 1.0, 1.0),
        1 => (1.0, 1.0, gpus),
        2 => (1.0, gpus, gpus),
        _ => (gpus, gpus, gpus),
    }
}

/// Activation bytes of one layer for sequence `seq`, micro-batch `batch`, hidden `hidden`,
/// `heads` heads (Korthikanti et al. 2022), scaled by `elem_bytes / 2`.
pub fn activation_bytes_per_layer(
    seq: f64,
    batch: f64,
    hidden: f64,
    heads: f64,
    recompute: Recompute,
    elem_bytes: f64,
) -> f64 {
    let sbh = seq * batch * hidden;
    let per = match recompute {
        Recompute::None => 34.0 + 5.0 * heads * seq / hidden,
        Recompute::Selective => 34.0,
        Recompute::Full => 2.0,
    };
    sbh * per * elem_bytes / 2.0
}

/// Memory of one GPU, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemoryBreakdown {
    pub weights: f64,
    pub gradients: f64,
    pub master: f64,
    pub optimizer: f64,
    pub activations: f64,
    pub cuda_context: f64,
}

impl MemoryBreakdown {
    /// Everything on the GPU.
    pub fn total(&self) -> f64 {
        self.weights
            + self.gradients
            + self.master
            + self.optimizer
            + self.activations
            + self.cuda_context
    }
}

/// Per-GPU memory for `params` parameters with ZeRO `stage` across `gpus` data-parallel GPUs.
pub fn per_gpu(
    params: f64,
    bpp: BytesPerParam,
    stage: u8,
    gpus: f64,
    activations: f64,
    cuda_context: f64,
) -> MemoryBreakdown {
    let (w, g, o) = zero_divisors(stage, gpus);
    MemoryBreakdown {
        weights: params * bpp.weights / w,
        gradients: params * bpp.gradients / g,
        master: params * bpp.master / o,
        optimizer: params * bpp.optimizer / o,
        activations,
        cuda_context,
    }
}

/// The fewest GPUs on which ZeRO `stage` fits within `device_bytes` per GPU, or `None` when
/// no count does (what is not sharded is already too large).
pub fn min_gpus(
    params: f64,
    bpp: BytesPerParam,
    stage: u8,
    activations: f64,
    cuda_context: f64,
    device_bytes: f64,
) -> Option<u64> {
    let one = per_gpu(params, bpp, stage, 1.0, activations, cuda_context);
    let sharded = per_gpu(params, bpp, stage, f64::INFINITY, activations, cuda_context);
    let fixed = sharded.total();
    let room = device_bytes - fixed;
    if one.total() <= device_bytes {
        return Some(1);
    }
    if room <= 0.0 {
        return None;
    }
    let need = ((one.total() - fixed) / room - 1e-12).ceil().max(1.0);
    if need > 1e12 {
        return None;
    }
    Some(need as u64)
}

/// Bytes per parameter moved by one AdamW step with fp32 (or, for fp64, fp64) master
/// weights, training in `dtype`: the master weight, its gradient and the two moments read,
/// the weight and the moments written (7 × 4 bytes), plus casting each gradient up and each
/// new weight down when the model trains in a narrower type: 28 in fp32, 40 in bf16/fp16, 56
/// in fp64 (docs/calibrating.md, the memory-bound passes; docs/sources.md §13).
pub fn optimizer_bytes_per_param(dtype: DType) -> f64 {
    let e = dtype.output_bytes() as f64;
    let master = e.max(4.0);
    let casts = if e < master { 2.0 * (master + e) } else { 0.0 };
    7.0 * master + casts
}

/// What `gpubench memory` is asked: a model's size, how it trains, across how many GPUs, and
/// (when known) each GPU's memory.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryInputs {
    pub params: Sourced,
    pub precision: Precision,
    pub optimizer: Optimizer,
    /// ZeRO stage, 0 to 3.
    pub zero: u8,
    /// Data-parallel GPUs the states are sharded across.
    pub gpus: u64,
    /// Activation bytes per GPU, when the architecture is known.
    pub activations: Option<Sourced>,
    /// CUDA context per GPU, bytes.
    pub cuda_context: Sourced,
    /// Memory per GPU, bytes.
    pub device: Option<Sourced>,
}

/// The fewest GPUs on which one ZeRO stage fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fewest {
    pub stage: u8,
    /// `None` when no count fits.
    pub gpus: Option<u64>,
    /// Per GPU at that count; when none fits, what the stage does not shard (the memory on
    /// infinitely many GPUs).
    pub per_gpu: MemoryBreakdown,
}

/// Everything `gpubench memory` shows: the breakdown at the chosen stage and GPU count, the
/// same on one GPU, and the fewest GPUs at each stage when the GPU's memory is known.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryReport {
    pub inputs: MemoryInputs,
    pub bpp: BytesPerParam,
    /// Per GPU at `inputs.gpus` and `inputs.zero`.
    pub per_gpu: MemoryBreakdown,
    /// On a single GPU at `inputs.zero`.
    pub one_gpu: MemoryBreakdown,
    /// Stages 0 to 3 (empty without the GPU's memory).
    pub fewest: Vec<Fewest>,
}

impl MemoryReport {
    /// Works out the breakdowns and the fewest GPUs for `inputs`.
    pub fn of(inputs: MemoryInputs) -> MemoryReport {
        let bpp = BytesPerParam::of(inputs.precision, inputs.optimizer);
        let n = inputs.params.value;
        let act = inputs.activations.as_ref().map_or(0.0, |a| a.value);
        let ctx = inputs.cuda_context.value;
        let at = |stage: u8, gpus: f64| per_gpu(n, bpp, stage, gpus, act, ctx);
        let fewest = match &inputs.device {
            Some(d) => (0..=3u8)
                .map(|stage| {
                    let gpus = min_gpus(n, bpp, stage, act, ctx, d.value);
                    Fewest {
                        stage,
                        gpus,
                        per_gpu: at(stage, gpus.map_or(f64::INFINITY, |g| g as f64)),
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        MemoryReport {
            bpp,
            per_gpu: at(inputs.zero, inputs.gpus as f64),
            one_gpu: at(inputs.zero, 1.0),
            fewest,
            inputs,
        }
    }

    /// Whether the breakdown at `inputs.gpus` fits the GPU (`None` when its memory is unknown).
    pub fn fits(&self) -> Option<bool> {
        self.inputs
            .device
            .as_ref()
            .map(|d| self.per_gpu.total() <= d.value)
    }

    /// Whether it fits a single GPU (`None` when its memory is unknown).
    pub fn fits_one_gpu(&self) -> Option<bool> {
        self.inputs
            .device
            .as_ref()
            .map(|d| self.one_gpu.total() <= d.value)
    }

    /// The JSON object `gpubench memory --json` prints: sizes in GB, and where each input came
    /// from.
    pub fn json(&self) -> Value {
        let i = &self.inputs;
        let b = &self.per_gpu;
        let mut o = Map::new();
        o.insert("params".into(), json!(i.params.value));
        o.insert("precision".into(), json!(i.precision.name()));
        o.insert("optimizer".into(), json!(i.optimizer.name()));
        o.insert("bytes_per_param".into(), json!(self.bpp));
        o.insert("zero_stage".into(), json!(i.zero));
        o.insert("gpus".into(), json!(i.gpus as f64));
        o.insert("weights_gb".into(), json!(b.weights / 1e9));
        o.insert("gradients_gb".into(), json!(b.gradients / 1e9));
        o.insert("master_weights_gb".into(), json!(b.master / 1e9));
        o.insert("optimizer_gb".into(), json!(b.optimizer / 1e9));
        o.insert(
            "activations_gb".into(),
            json!(i.activations.as_ref().map(|a| a.value / 1e9)),
        );
        o.insert("cuda_context_gb".into(), json!(b.cuda_context / 1e9));
        o.insert("memory_total_gb".into(), json!(b.total() / 1e9));
        o.insert(
            "device_memory_gb".into(),
            json!(i.device.as_ref().map(|d| d.value / 1e9)),
        );
        o.insert("fits".into(), json!(self.fits()));
        o.insert("fits_one_gpu".into(), json!(self.fits_one_gpu()));
        o.insert(
            "min_gpus".into(),
            if self.fewest.is_empty() {
                Value::Null
            } else {
                Value::Object(
                    self.fewest
                        .iter()
                        .map(|f| (format!("zero{}", f.stage), json!(f.gpus)))
                        .collect(),
                )
            },
        );
        let mut src = Map::new();
        src.insert("params".into(), json!(i.params.origin()));
        if let Some(a) = &i.activations {
            src.insert("activations_gb".into(), json!(a.origin()));
        }
        if let Some(d) = &i.device {
            src.insert("device_memory_gb".into(), json!(d.origin()));
        }
        src.insert("cuda_context_gb".into(), json!(i.cuda_context.origin()));
        o.insert("sources".into(), Value::Object(src));
        Value::Object(o)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn six_b_fp32_adamw_is_97_gb() {
        let bpp = BytesPerParam::of(Precision::Fp32, Optimizer::Adamw);
        let m = per_gpu(6e9, bpp, 0, 1.0, 0.0, 1.3e9);
        assert_eq!(m.weights, 24e9);
        assert_eq!(m.gradients, 24e9);
        assert_eq!(m.optimizer, 48e9);
        assert_eq!(m.master, 0.0);
        assert!((m.total() / 1e9 - 97.3).abs() < 1e-9);
        // 1B fp32 weights = 3.725 GiB (docs/sources.md §4).
        assert!((1e9 * bpp.weights / 1024f64.powi(3) - 3.725).abs() < 0.001);
    }

    #[test]
    fn bytes_per_param_table() {
        let t = |p, o| BytesPerParam::of(p, o).total();
        assert_eq!(t(Precision::Bf16, Optimizer::Adamw), 16.0);
        assert_eq!(t(Precision::Fp16, Optimizer::Adam), 16.0);
        assert_eq!(t(Precision::Fp32, Optimizer::Sgd), 8.0);
        assert_eq!(t(Precision::Fp32, Optimizer::SgdMomentum), 12.0);
        assert_eq!(t(Precision::Bf16, Optimizer::Adam8bit), 10.0);
    }

    #[test]
    fn zero_stages_shard_what_they_should() {
        let bpp = BytesPerParam::of(Precision::Bf16, Optimizer::Adamw);
        let at = |s| per_gpu(1e9, bpp, s, 8.0, 0.0, 0.0);
        assert_eq!(at(0).total(), 16e9);
        assert_eq!(at(1).total(), 2e9 + 2e9 + 12e9 / 8.0); // ZeRO paper: 2Ψ + 2Ψ + KΨ/Nd
        assert_eq!(at(2).total(), 2e9 + 14e9 / 8.0);
        assert_eq!(at(3).total(), 16e9 / 8.0);
    }

    #[test]
    fn korthikanti_activations() {
        // GPT-3 175B layer, s = 2048, b = 1, h = 12288, a = 96: sbh(34 + 5as/h).
        let sbh = 2048.0 * 12288.0;
        let none = activation_bytes_per_layer(2048.0, 1.0, 12288.0, 96.0, Recompute::None, 2.0);
        assert_eq!(none, sbh * (34.0 + 5.0 * 96.0 * 2048.0 / 12288.0));
        let sel = activation_bytes_per_layer(2048.0, 1.0, 12288.0, 96.0, Recompute::Selective, 2.0);
        assert_eq!(sel, sbh * 34.0);
        let full = activation_bytes_per_layer(2048.0, 1.0, 12288.0, 96.0, Recompute::Full, 2.0);
        assert_eq!(full, sbh * 2.0);
        let fp32 = activation_bytes_per_layer(2048.0, 1.0, 12288.0, 96.0, Recompute::Full, 4.0);
        assert_eq!(fp32, 2.0 * full);
    }

    #[test]
    fn fewest_gpus() {
        let bpp = BytesPerParam::of(Precision::Bf16, Optimizer::Adamw);
        // 7B mixed precision = 112 GB of states: no single 80 GB GPU, ZeRO-0 never fits.
        assert_eq!(min_gpus(7e9, bpp, 0, 0.0, 1.3e9, 80e9), None);
        // ZeRO-3: 112 GB / n + 1.3 GB ≤ 80 GB → n = 2.
        assert_eq!(min_gpus(7e9, bpp, 3, 0.0, 1.3e9, 80e9), Some(2));
        // ZeRO-1: 14 + 14 + 84/n + 1.3 ≤ 80 → n = 2.
        assert_eq!(min_gpus(7e9, bpp, 1, 0.0, 1.3e9, 80e9), Some(2));
        assert_eq!(min_gpus(1e9, bpp, 0, 0.0, 1.3e9, 80e9), Some(1));
        // 65B with ZeRO-2: 130 GB of bf16 weights alone exceeds 80 GB.
        assert_eq!(min_gpus(65e9, bpp, 2, 0.0, 1.3e9, 80e9), None);
    }

    proptest! {
        #[test]
        fn min_gpus_is_minimal(params in 1e8f64..1e12, stage in 0u8..4, act in 0f64..2e10) {
            let bpp = BytesPerParam::of(Precision::Bf16, Optimizer::Adamw);
            let dev = 80e9;
            if let Some(n) = min_gpus(params, bpp, stage, act, 1.3e9, dev) {
                prop_assert!(per_gpu(params, bpp, stage, n as f64, act, 1.3e9).total() <= dev * (1.0 + 1e-12));
                if n > 1 {
                    prop_assert!(per_gpu(params, bpp, stage, (n - 1) as f64, act, 1.3e9).total() > dev);
                }
            }
        }
    }

    /// 7B in mixed precision with AdamW on 80 GB GPUs (the `fewest_gpus` case), as a report.
    pub(crate) fn seven_b_on_80_gb(zero: u8, gpus: u64) -> MemoryReport {
        use crate::estimate::Source;
        MemoryReport::of(MemoryInputs {
            params: Sourced::new(7e9, Source::Given),
            precision: Precision::Bf16,
            optimizer: Optimizer::Adamw,
            zero,
            gpus,
            activations: None,
            cuda_context: Sourced::noted(1.3e9, Source::Default, "docs/sources.md §4"),
            device: Some(Sourced::new(80e9, Source::Given)),
        })
    }

    #[test]
    fn the_report_shards_fits_and_counts_the_fewest_gpus() {
        let r = seven_b_on_80_gb(3, 8);
        assert_eq!(r.per_gpu.total(), 112e9 / 8.0 + 1.3e9);
        assert_eq!(r.one_gpu.total(), 112e9 + 1.3e9);
        assert_eq!((r.fits(), r.fits_one_gpu()), (Some(true), Some(false)));
        let gpus: Vec<_> = r.fewest.iter().map(|f| f.gpus).collect();
        assert_eq!(gpus, [None, Some(2), Some(2), Some(2)]);
        // ZeRO-0 never fits: its row carries the unsharded 113.3 GB.
        assert_eq!(r.fewest[0].per_gpu.total(), 113.3e9);
        let j = r.json();
        assert_eq!(j["min_gpus"]["zero0"], Value::Null);
        assert_eq!(j["min_gpus"]["zero3"], 2);
        assert_eq!(j["gpus"], 8.0);
        assert_eq!(
            j["sources"]["cuda_context_gb"],
            "default, docs/sources.md §4"
        );
        assert_eq!(j["activations_gb"], Value::Null);
    }

    #[test]
    fn without_the_gpu_memory_nothing_is_said_about_fitting() {
        let mut r = seven_b_on_80_gb(0, 1);
        r.inputs.device = None;
        let r = MemoryReport::of(r.inputs);
        assert!(r.fewest.is_empty() && r.fits().is_none());
        assert_eq!(r.json()["min_gpus"], Value::Null);
    }

    #[test]
    fn optimizer_bytes() {
        assert_eq!(optimizer_bytes_per_param(DType::Bf16), 40.0);
        assert_eq!(optimizer_bytes_per_param(DType::Fp16), 40.0);
        assert_eq!(optimizer_bytes_per_param(DType::Fp32), 28.0);
        assert_eq!(optimizer_bytes_per_param(DType::Fp64), 56.0);
    }
}
