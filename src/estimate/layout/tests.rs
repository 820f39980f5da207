//! Published runs the layout model is checked against (docs/sources.md §13): every case uses
//! the paper's own hardware (A100 SXM 80GB, 312 TFLOPS bf16/fp16, NVLink 3 at 300 GB/s per
//! direction, eight 200 Gb/s HDR InfiniBand ports per DGX A100 node) and the one efficiency
//! model of the module docs; no constant is set per case.

use super::*;
use crate::estimate::layout::compute::tests::gpt;

/// DGX A100 as the Megatron-LM, MT-NLG and Korthikanti et al. papers describe it.
pub(crate) fn dgx_a100() -> Hardware {
    Hardware {
        peak_tflops: 312.0,
        compute_tflops: 312.0 * GEMM_EFFICIENCY * LAYER_EFFICIENCY,
        attention_tflops: 312.0 * GEMM_EFFICIENCY * LAYER_EFFICIENCY * ATTENTION_EFFICIENCY,
        compute_note: "spec × GEMM × layer efficiency".into(),
        memory_gbps: 2039.0 * MEMORY_EFFICIENCY,
        gpus_per_node: 8,
        links: Links::from_spec(
            300.0,
            25.0,
            comm::DEFAULT_LINK_EFFICIENCY,
            "NVLink 3",
            "HDR 200 Gb/s per GPU",
        ),
        memory_bytes: 80e9,
        cuda_context_bytes: 1.3e9,
    }
}

/// Megatron-LM 2021 and MT-NLG settings: full recomputation, no sequence parallelism, no
/// distributed optimizer, gradient all-reduce after the backward pass.
#[allow(clippy::too_many_arguments)]
fn megatron(tp: u64, pp: u64, gpus: u64, batch: u64, mb: u64, rc: Recompute, sp: bool) -> Layout {
    Layout {
        tp,
        pp,
        dp: gpus / (tp * pp),
        micro_batch: mb,
        global_batch: batch,
        seq: 2048,
        sequence_parallel: sp,
        virtual_stages: 1,
        zero: 0,
        recompute: rc,
        dp_overlap: false,
        dp_bucket: None,
    }
}

fn rel(a: f64, b: f64) -> f64 {
    a / b - 1.0
}

/// Megatron-LM 2021 (Narayanan et al., arXiv 2104.04473) Table 1: heads, hidden, layers, tp,
/// pp, GPUs, batch, achieved TFLOPS per GPU. Vocabulary 51,200, sequence 2,048.
/// name, heads, hidden, layers, tp, pp, GPUs, batch, published TFLOPS per GPU.
type MegatronRow = (&'static str, u64, u64, u64, u64, u64, u64, u64, f64);

pub(crate) const MEGATRON_TABLE1: [MegatronRow; 10] = [
    ("1.7B", 24, 2304, 24, 1, 1, 32, 512, 137.0),
    ("3.6B", 32, 3072, 30, 2, 1, 64, 512, 138.0),
    ("7.5B", 32, 4096, 36, 4, 1, 128, 512, 142.0),
    ("18.4B", 48, 6144, 40, 8, 1, 256, 1024, 135.0),
    ("39.1B", 64, 8192, 48, 8, 2, 512, 1536, 138.0),
    ("76.1B", 80, 10240, 60, 8, 4, 1024, 1792, 140.0),
    ("145.6B", 96, 12288, 80, 8, 8, 1536, 2304, 148.0),
    ("310.1B", 128, 16384, 96, 8, 16, 1920, 2160, 155.0),
    ("529.6B", 128, 20480, 105, 8, 35, 2520, 2520, 163.0),
    ("1008B", 160, 25600, 128, 8, 64, 3072, 3072, 163.0),
];

pub(crate) fn megatron_table1() -> Vec<(&'static str, f64, f64)> {
    let hw = dgx_a100();
    MEGATRON_TABLE1
        .iter()
        .map(|&(name, a, h, l, t, p, g, b, tflops)| {
            let m = gpt(l, h, a, 51_200);
            let lay = megatron(t, p, g, b, 1, Recompute::Full, false);
            lay.validate(&m).unwrap();
            let e = evaluate(&m, &lay, &hw);
            (name, e.achieved_tflops, tflops)
        })
        .collect()
}

#[test]
fn megatron_2021_table1_within_10_percent() {
    let mut report = String::new();
    let mut misses = Vec::new();
    for (name, got, want) in megatron_table1() {
        let r = rel(got, want);
        report += &format!("{name}: {got:.1} vs {want} TFLOPS ({:+.1} %)\n", r * 100.0);
        if r.abs() > 0.10 {
            misses.push(name);
        }
    }
    assert!(misses.is_empty(), "outside ±10 %: {misses:?}\n{report}");
}

/// MT-NLG 530B (Smith et al. 2022, arXiv 2201.11990 §2.4): 105 layers, h 20,480, 128 heads,
/// vocabulary 50,272 (padded), batch 1,920, tp 8, pp 35, on 280/350/420 DGX A100 nodes:
/// 60.1, 50.2 and 44.4 s per iteration.
pub(crate) fn mt_nlg() -> Vec<(u64, f64, f64)> {
    let hw = dgx_a100();
    let m = gpt(105, 20_480, 128, 50_272);
    [(280, 60.1), (350, 50.2), (420, 44.4)]
        .iter()
        .map(|&(nodes, secs)| {
            let lay = megatron(8, 35, nodes * 8, 1920, 1, Recompute::Full, false);
            lay.validate(&m).unwrap();
            (nodes, evaluate(&m, &lay, &hw).step_time_s, secs)
        })
        .collect()
}

/// A documented miss: MT-NLG ran DeepSpeed's pipeline engine at 113–126 TFLOPS per GPU where
/// Megatron-LM reached 163 on the same model and hardware (Table 1, 529.6B), so a model fitted
/// to Megatron-LM predicts about 18 % less time. The test pins the miss (faster than published,
/// by 10–25 %) so that a change to the model shows up here.
#[test]
fn mt_nlg_iteration_times_documented_miss() {
    for (nodes, got, want) in mt_nlg() {
        let r = rel(got, want);
        assert!(
            (-0.25..=-0.10).contains(&r),
            "{nodes} nodes: {got:.1} s vs {want} s ({:+.1} %)",
            r * 100.0
        );
    }
    // The scaling between node counts follows the paper: time ∝ 1/d within 5 %.
    let t = mt_nlg();
    for w in t.windows(2) {
        let (got, want) = (w[1].1 / w[0].1, w[1].2 / w[0].2);
        assert!((got / want - 1.0).abs() < 0.05, "{got} vs {want}");
    }
}

/// Korthikanti et al. 2022 (arXiv 2205.05198) Tables 3 and 5: name, heads, hidden, layers, tp,
/// pp, interleaved chunks per GPU (3 for 175B and 530B), GPUs, batch, micro-batch; iteration
/// time with full recomputation and with sequence parallelism + selective recomputation.
type KorthikantiRow = (
    &'static str,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    f64,
    f64,
);

pub(crate) const KORTHIKANTI: [KorthikantiRow; 4] = [
    ("22B", 64, 6144, 48, 8, 1, 1, 8, 4, 4, 1.42, 1.10),
    ("175B", 96, 12288, 96, 8, 8, 3, 64, 64, 1, 18.13, 13.75),
    ("530B", 128, 20480, 105, 8, 35, 3, 280, 280, 1, 49.05, 37.83),
    ("1T", 160, 25600, 128, 8, 64, 1, 512, 512, 1, 94.42, 71.49),
];

pub(crate) fn korthikanti() -> Vec<(&'static str, f64, f64, f64, f64)> {
    let hw = dgx_a100();
    KORTHIKANTI
        .iter()
        .map(|&(name, a, h, l, t, p, v, g, b, mb, full, sel)| {
            let m = gpt(l, h, a, 51_200);
            let mut f = megatron(t, p, g, b, mb, Recompute::Full, false);
            let mut s = megatron(t, p, g, b, mb, Recompute::Selective, true);
            f.virtual_stages = v;
            s.virtual_stages = v;
            f.validate(&m).unwrap();
            s.validate(&m).unwrap();
            (
                name,
                evaluate(&m, &f, &hw).step_time_s,
                full,
                evaluate(&m, &s, &hw).step_time_s,
                sel,
            )
        })
        .collect()
}

#[test]
fn korthikanti_iteration_times_within_10_percent() {
    let mut report = String::new();
    let mut misses = Vec::new();
    for (name, f, fw, s, sw) in korthikanti() {
        report += &format!(
            "{name}: full {f:.2} vs {fw} ({:+.1} %), sp+selective {s:.2} vs {sw} ({:+.1} %)\n",
            rel(f, fw) * 100.0,
            rel(s, sw) * 100.0
        );
        if rel(f, fw).abs() > 0.10 || rel(s, sw).abs() > 0.10 {
            misses.push(name);
        }
    }
    assert!(misses.is_empty(), "outside ±10 %: {misses:?}\n{report}");
}

/// PaLM 540B (Chowdhery et al. 2022, §4 and appendix B): 118 layers, hidden 18,432, 48 query
/// heads of 256 with one K/V head, SwiGLU MLP of 73,728, vocabulary 256,000 (tied), sequence
/// 2,048; 238.3K tokens/s on 6,144 TPU v4 chips of 275 TFLOPS (bf16): 46.2 % MFU, 57.8 % HFU
/// with rematerialization. Returns (MFU, HFU with selective and with full recomputation) as the
/// layout model counts FLOPs.
pub(crate) fn palm_540b() -> (f64, f64, f64) {
    let mut m = gpt(118, 18_432, 48, 256_000);
    m.head_dim = Some(256);
    m.kv_heads = 1;
    m.ffn = 73_728;
    m.gated_mlp = true;
    let s = 2048.0;
    let per_token = |rc: Recompute| {
        let l = compute::layer_flops(&m, 1.0, s, 1.0);
        (118.0 * l.hardware(rc) + compute::lm_head_flops(&m, 1.0, s, 1.0)) / s
    };
    let model = per_token(Recompute::None);
    let rate = 238.3e3 / 6144.0;
    let util = |flops: f64| crate::estimate::time::mfu(rate, flops, 275e12);
    (
        util(model),
        util(per_token(Recompute::Selective)),
        util(per_token(Recompute::Full)),
    )
}

#[test]
fn palm_540b_mfu_and_hfu() {
    // The layout model's FLOPs per token are PaLM's 6N + 12·L·H·Q·T: its MFU is PaLM's 46.2 %.
    let (mfu, selective, full) = palm_540b();
    assert!((mfu - 0.462).abs() < 0.0005, "{mfu}");
    // Its 57.8 % HFU counts a rematerialization between recomputing the attention core only
    // and recomputing every layer's forward, as the two bounds the model counts.
    assert!(selective < 0.578 && 0.578 < full, "{selective} {full}");
    assert!((full / mfu - 4.0 / 3.0).abs() < 0.01, "{full} {mfu}");
}

#[test]
fn print_published_cases() {
    // Not an assertion: `cargo test --lib estimate::layout -- --nocapture print` shows the table
    // docs/estimating.md quotes.
    for (n, g, w) in megatron_table1() {
        println!("megatron {n}: {g:.1} vs {w} ({:+.1} %)", rel(g, w) * 100.0);
    }
    for (n, g, w) in mt_nlg() {
        println!(
            "mt-nlg {n} nodes: {g:.1} vs {w} ({:+.1} %)",
            rel(g, w) * 100.0
        );
    }
    for (rc, sp) in [
        (Recompute::None, false),
        (Recompute::Full, false),
        (Recompute::Selective, true),
    ] {
        println!(
            "korthikanti table 4 {rc:?} sp {sp}: {:.1} ms",
            korthikanti_layer(rc, sp) * 1e3
        );
    }
    let (mfu, sel, full) = palm_540b();
    println!(
        "palm 540b: MFU {:.1} % vs 46.2; HFU selective {:.1} % / full {:.1} % vs 57.8",
        mfu * 100.0,
        sel * 100.0,
        full * 100.0
    );
    for (n, f, fw, s, sw) in korthikanti() {
        println!(
            "korthikanti {n}: {f:.2} vs {fw} ({:+.1} %) | {s:.2} vs {sw} ({:+.1} %)",
            rel(f, fw) * 100.0,
            rel(s, sw) * 100.0
        );
    }
}

#[test]
fn errors_name_the_problem() {
    let m = gpt(24, 2304, 24, 51_200);
    let mut lay = megatron(1, 1, 32, 512, 1, Recompute::Full, false);
    lay.tp = 5;
    assert!(lay
        .validate(&m)
        .unwrap_err()
        .to_string()
        .contains("does not divide"));
    lay.tp = 1;
    lay.pp = 5;
    assert!(lay
        .validate(&m)
        .unwrap_err()
        .to_string()
        .contains("24 layers"));
    lay.pp = 1;
    lay.global_batch = 100;
    assert!(lay
        .validate(&m)
        .unwrap_err()
        .to_string()
        .contains("--global-batch 100"));
    assert!(derive_dp(100, 8, 4)
        .unwrap_err()
        .to_string()
        .contains("not divisible"));
    assert_eq!(derive_dp(1024, 8, 4).unwrap(), 32);
}

#[test]
fn overlap_hides_gradient_reduction() {
    let m = gpt(24, 2304, 24, 51_200);
    let hw = dgx_a100();
    let mut lay = megatron(1, 1, 32, 512, 1, Recompute::None, false);
    let exposed = evaluate(&m, &lay, &hw);
    lay.dp_overlap = true;
    let hidden = evaluate(&m, &lay, &hw);
    // Overlapped, the gradients go in Megatron-core's 40M-parameter buckets: the same bytes,
    // one more call's latency per extra bucket (the table's links are flat in size).
    let calls = (params_per_gpu(&m, 1, 1) / 40e6).ceil();
    let extra = hidden.breakdown.dp_comm_total - exposed.breakdown.dp_comm_total;
    assert!(
        (extra - (calls - 1.0) * comm::INTER_NODE_LATENCY_S).abs() < 1e-12,
        "{extra} for {calls} buckets"
    );
    assert!(hidden.breakdown.dp_comm_exposed < exposed.breakdown.dp_comm_exposed);
    assert!(hidden.step_time_s < exposed.step_time_s);
}

#[test]
fn small_buckets_pay_for_a_curve_that_is_low_at_small_sizes() {
    let m = gpt(24, 2304, 24, 51_200);
    let mut hw = dgx_a100();
    // Measured: 2 GB/s per GPU at 1 MB, 20 at 1 GB and above.
    let curve = comm::BandwidthCurve {
        points: vec![(1e6, 2.0), (1e9, 20.0)],
    };
    hw.links
        .set_curve(Scope::InterNode, curve, "measured".into());
    let mut lay = megatron(1, 1, 32, 512, 1, Recompute::None, false);
    lay.dp_overlap = true;
    let mut total = |bucket: Option<f64>| {
        lay.dp_bucket = bucket;
        evaluate(&m, &lay, &hw).breakdown.dp_comm_total
    };
    let (small, default, whole) = (total(Some(1e6)), total(None), total(Some(1e12)));
    assert!(
        small > 2.0 * default && default > whole,
        "{small} {default} {whole}"
    );
    assert_eq!(lay.dp_bucket_params(1e9), 1e9);
    lay.dp_bucket = None;
    assert_eq!(lay.dp_bucket_params(1e9), 40e6);
}

#[test]
fn buckets_split_a_collective_and_grow_with_the_group() {
    let t = |x: f64| 1.0 + x;
    assert_eq!(bucketed(10.0, 4.0, t), 2.0 * 5.0 + 3.0);
    assert_eq!(bucketed(8.0, 4.0, t), 2.0 * 5.0);
    assert_eq!(bucketed(3.0, 4.0, t), 4.0);
    assert_eq!(bucketed(0.0, 4.0, t), 0.0);
    assert_eq!(default_dp_bucket(8), 40e6);
    assert_eq!(default_dp_bucket(128), 128e6);
}

#[test]
fn breakdown_adds_up_and_mfu_relates_to_hfu() {
    let m = gpt(96, 12_288, 96, 51_200);
    let hw = dgx_a100();
    let lay = megatron(8, 8, 64, 64, 1, Recompute::Full, false);
    let e = evaluate(&m, &lay, &hw);
    let b = e.breakdown;
    let sum = b.compute + b.tp_comm + b.pp_bubble + b.pp_p2p + b.dp_comm_exposed + b.optimizer;
    assert!((sum - e.step_time_s).abs() < 1e-9);
    assert!((e.hfu / e.mfu - e.hardware_flops_per_step / e.model_flops_per_step).abs() < 1e-12);
    assert!(e.hfu > e.mfu);
    assert!((e.tokens_per_step - 64.0 * 2048.0).abs() < 1e-9);
}

#[test]
fn zero_stages_move_what_the_zero_paper_says() {
    // One micro-batch: ZeRO-1/2 move one all-reduce's bytes, ZeRO-3 1.5× (Rajbhandari et al.).
    let m = gpt(24, 2304, 24, 51_200);
    let hw = dgx_a100();
    let mut lay = megatron(1, 1, 32, 32, 1, Recompute::None, false);
    let mut dp = |z: u8| {
        lay.zero = z;
        evaluate(&m, &lay, &hw).breakdown.dp_comm_total
    };
    let (z0, z1, z3) = (dp(0), dp(1), dp(3));
    // Latency is per call: ZeRO-1 makes two calls of the one all-reduce's bytes, ZeRO-3 a
    // reduce-scatter and, forward and backward, a gather per layer-sized unit.
    let lat = comm::INTER_NODE_LATENCY_S;
    let units = (params_per_gpu(&m, 1, 1) / layer_params(&m.param_breakdown(), m.layers)).ceil();
    assert!((z1 - z0 - lat).abs() < 1e-12, "{z1} {z0}");
    let want = 1.5 * (z0 - lat) + (1.0 + 2.0 * units) * lat;
    assert!((z3 - want).abs() < 1e-12, "{z3} vs {want}");
}

#[test]
fn zero3_memory_holds_the_largest_unit_whole() {
    // GPT-3 175B on 64 GPUs, no model parallelism: the shard of 175B × 16 bytes over 64 ranks
    // is 44 GB, and ZeRO-3 adds a 96-layer model's largest unit (a layer of 12·h² + 13·h
    // parameters with biases and norms, the final norm shared out over the layers; larger
    // than the 51,200 × 12,288 embedding) × 6 bytes.
    let m = gpt(96, 12_288, 96, 51_200);
    let hw = dgx_a100();
    let mut lay = megatron(1, 1, 64, 64, 1, Recompute::Full, false);
    lay.zero = 3;
    let e = evaluate(&m, &lay, &hw);
    let h = 12_288.0_f64;
    let layer = 12.0 * h * h + 13.0 * h + 2.0 * h / 96.0;
    assert!((largest_unit_params(&m, 1) - layer).abs() < 1e-3);
    assert!((e.memory.zero3_gathered_bytes - 6.0 * layer).abs() < 1.0);
    let rest = e.memory.breakdown.total();
    assert!((e.memory.total_bytes - rest - 6.0 * layer).abs() < 1.0);
    // Tensor parallelism splits the unit; ZeRO-2 gathers nothing.
    assert!((largest_unit_params(&m, 8) - layer / 8.0).abs() < 1e-3);
    lay.zero = 2;
    assert_eq!(evaluate(&m, &lay, &hw).memory.zero3_gathered_bytes, 0.0);
}

/// One layer of Korthikanti et al.'s 22B model (Table 4: b 4, s 2048, h 6144, a 64, t 8),
/// forward + backward with its tensor-parallel communication, from a one-layer, one-stage
/// layout on 8 GPUs.
pub(crate) fn korthikanti_layer(rc: Recompute, sp: bool) -> f64 {
    let m = gpt(1, 6144, 64, 8);
    let mut lay = megatron(8, 1, 8, 4, 4, rc, sp);
    lay.dp_overlap = true;
    let e = evaluate(&m, &lay, &dgx_a100());
    e.breakdown.compute + e.breakdown.tp_comm
}

#[test]
fn korthikanti_table4_layer_times() {
    // Published per-layer forward + backward: 19.6 ms without recomputation, 27.2 ms with full
    // recomputation, 20.3 ms with sequence parallelism and selective recomputation.
    for (rc, sp, want) in [
        (Recompute::None, false, 19.6e-3),
        (Recompute::Full, false, 27.2e-3),
        (Recompute::Selective, true, 20.3e-3),
    ] {
        let got = korthikanti_layer(rc, sp);
        let r = rel(got, want);
        assert!(
            r.abs() <= 0.10,
            "{rc:?}, sequence parallel {sp}: {:.1} ms vs {:.1} ms ({:+.1} %)",
            got * 1e3,
            want * 1e3,
            r * 100.0
        );
    }
}
