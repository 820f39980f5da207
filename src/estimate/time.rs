//! Throughput, wall-clock time, GPU count and model FLOPs utilization: how long a run takes on
//! a cluster, or how large a cluster a deadline needs.
//!
//! Sources (`docs/sources.md` §2 and §12): T = C / (GPUs × FLOP/s per GPU), or from a
//! token rate T = D / (GPUs × tokens/s/GPU); GPUs for a deadline = C / (FLOP/s per GPU ×
//! seconds); PaLM's MFU = tokens/s × 6N / peak FLOP/s (per GPU). All FLOP/s here are *model*
//! FLOP/s (6N per token), as MFU defines them, unless a name says hardware.

/// Seconds to do `flops` on `gpus` GPUs each sustaining `flops_per_gpu` FLOP/s.
pub fn seconds_for_flops(flops: f64, gpus: f64, flops_per_gpu: f64) -> f64 {
    flops / (gpus * flops_per_gpu)
}

/// Seconds to process `tokens` on `gpus` GPUs at `tokens_per_sec_per_gpu`.
pub fn seconds_for_tokens(tokens: f64, gpus: f64, tokens_per_sec_per_gpu: f64) -> f64 {
    tokens / (gpus * tokens_per_sec_per_gpu)
}

/// GPUs needed (fractional) to do `flops` in `seconds` at `flops_per_gpu` each.
/// Round up with [`whole_gpus`].
pub fn gpus_for_deadline(flops: f64, flops_per_gpu: f64, seconds: f64) -> f64 {
    flops / (flops_per_gpu * seconds)
}

/// The whole number of GPUs that meets a fractional need (tolerating float noise).
pub fn whole_gpus(fractional: f64) -> f64 {
    (fractional - 1e-9 * fractional).ceil().max(1.0)
}

/// Model FLOP/s per GPU from a token rate: tokens/s × FLOPs per token.
pub fn flops_from_tokens_per_sec(tokens_per_sec: f64, flops_per_token: f64) -> f64 {
    tokens_per_sec * flops_per_token
}

/// Token rate from model FLOP/s per GPU.
pub fn tokens_per_sec_from_flops(flops_per_sec: f64, flops_per_token: f64) -> f64 {
    flops_per_sec / flops_per_token
}

/// PaLM's model FLOPs utilization: tokens/s per GPU × FLOPs per token / peak FLOP/s.
pub fn mfu(tokens_per_sec_per_gpu: f64, flops_per_token: f64, peak_flops: f64) -> f64 {
    tokens_per_sec_per_gpu * flops_per_token / peak_flops
}

/// GPU-hours for `gpus` GPUs over `seconds`.
pub fn gpu_hours(gpus: f64, seconds: f64) -> f64 {
    gpus * seconds / 3600.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::DAY_S;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn llama_65b_days_and_mfu() {
        // 1.4e12 tokens / (2048 × 380) s = 20.8 days; 6 × 65.2e9 × 380 / 312e12 = 47.6 %.
        let days = seconds_for_tokens(1.4e12, 2048.0, 380.0) / DAY_S;
        assert!(close(days, 20.82, 0.001), "{days}");
        let u = mfu(380.0, 6.0 * 65.2e9, 312e12);
        assert!(close(u, 0.4765, 0.001), "{u}");
    }

    #[test]
    fn gpt3_on_1000_a100() {
        let days = seconds_for_flops(3.14e23, 1000.0, 312e12 * 0.5) / DAY_S;
        assert!(close(days, 23.29, 0.001), "{days}");
    }

    #[test]
    fn gpus_for_100b_in_10_days() {
        // 1.8e23 / (19.5e12 × 864,000) = 10,683.8 → 10,684 (the article prints 10,830).
        let n = gpus_for_deadline(1.8e23, 19.5e12, 10.0 * DAY_S);
        assert!(close(n, 10_683.76, 1e-5), "{n}");
        assert_eq!(whole_gpus(n), 10_684.0);
        assert_eq!(whole_gpus(2048.0 * (1.0 + 1e-13)), 2048.0);
        assert_eq!(whole_gpus(0.2), 1.0);
    }

    #[test]
    fn hours() {
        assert_eq!(gpu_hours(2048.0, 3600.0), 2048.0);
    }

    proptest! {
        #[test]
        fn twice_the_gpus_half_the_time(
            flops in 1e18f64..1e26, gpus in 1f64..1e5, per_gpu in 1e12f64..2e15,
        ) {
            let t1 = seconds_for_flops(flops, gpus, per_gpu);
            let t2 = seconds_for_flops(flops, 2.0 * gpus, per_gpu);
            prop_assert!(close(t2 * 2.0, t1, 1e-12));
        }

        #[test]
        fn time_times_throughput_is_compute(
            flops in 1e18f64..1e26, gpus in 1f64..1e5, per_gpu in 1e12f64..2e15,
        ) {
            let t = seconds_for_flops(flops, gpus, per_gpu);
            prop_assert!(close(t * gpus * per_gpu, flops, 1e-12));
        }

        #[test]
        fn token_and_flop_views_agree(
            params in 1e8f64..1e12, tokens in 1e9f64..1e13, gpus in 1f64..1e4, tps in 1f64..1e5,
        ) {
            let by_tokens = seconds_for_tokens(tokens, gpus, tps);
            let per_gpu = flops_from_tokens_per_sec(tps, 6.0 * params);
            let by_flops = seconds_for_flops(6.0 * params * tokens, gpus, per_gpu);
            prop_assert!(close(by_tokens, by_flops, 1e-9));
            let back = tokens_per_sec_from_flops(per_gpu, 6.0 * params);
            prop_assert!(close(back, tps, 1e-12));
        }

        #[test]
        fn deadline_gpus_meet_the_deadline(
            flops in 1e18f64..1e26, per_gpu in 1e12f64..2e15, days in 0.5f64..400.0,
        ) {
            let n = whole_gpus(gpus_for_deadline(flops, per_gpu, days * DAY_S));
            let t = seconds_for_flops(flops, n, per_gpu);
            prop_assert!(t <= days * DAY_S * (1.0 + 1e-9));
            if n > 1.0 {
                prop_assert!(seconds_for_flops(flops, n - 1.0, per_gpu) > days * DAY_S * (1.0 - 1e-9));
            }
        }
    }
}
