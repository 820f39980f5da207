//! Warnings the planning commands print (one line each on stderr, `warning: ...`): a figure
//! that is legal but probably not what the user meant. Each carries its advice.

use std::fmt;

use crate::units::fmt_count;

/// Range of GPU utilization (MFU) the sources call typical of LLM training (`docs/sources.md` §2).
pub const TYPICAL_MFU: (f64, f64) = (0.30, 0.55);

/// Tokens per parameter more than this factor away from Chinchilla's 20 draw a warning.
pub const TOKENS_PER_PARAM_FACTOR: f64 = 2.0;

/// Something worth a second look.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// An MFU (given or implied) outside the typical range.
    MfuOutsideRange { scenario: String, mfu: f64 },
    /// Faster than the measured GEMM throughput: impossible for a whole training step.
    AboveMeasured { scenario: String, ratio: f64 },
    /// Tokens per parameter far from the Chinchilla rule.
    TokensPerParam { ratio: f64, params: f64 },
    /// Fewer dataset tokens than training tokens.
    Epochs { dataset: f64, tokens: f64 },
    /// `--gpu` names another GPU than the profile's device; `effect` says what uses which.
    GpuMismatch {
        given: String,
        profile: String,
        effect: &'static str,
    },
    /// A communication profile with no bus-bandwidth curve (one GPU's: nothing crossed a link).
    EmptyCommProfile { origin: String },
    /// A calibration pricing every layout of a plan, though it measured one step's shapes.
    PlanCalibration { origin: String, calibrated: String },
    /// A calibration of another step shape than the layout runs (tensor-parallel degree,
    /// micro-batch or sequence), so its GEMMs had other shapes; `command` calibrates the
    /// layout's own.
    CalibratedStep {
        origin: String,
        calibrated: String,
        layout: String,
        command: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::MfuOutsideRange { scenario, mfu } => write!(
                f,
                "{scenario}: MFU {:.1} % is outside the {:.0}–{:.0} % typical of LLM training (docs/sources.md §2); check the throughput",
                mfu * 100.0,
                TYPICAL_MFU.0 * 100.0,
                TYPICAL_MFU.1 * 100.0
            ),
            Warning::AboveMeasured { scenario, ratio } => write!(
                f,
                "{scenario}: {:.0} % of the measured GEMM throughput, above 100 %: a training step cannot beat its own matrix products; check the throughput or the profile",
                ratio * 100.0
            ),
            Warning::TokensPerParam { ratio, params } => write!(
                f,
                "{ratio:.1} tokens per parameter is far from the Chinchilla rule of 20 ({} tokens for {} parameters is compute-optimal); {}",
                fmt_count(20.0 * params),
                fmt_count(*params),
                if *ratio < 20.0 {
                    "for the same compute a smaller model on more data would reach a lower loss"
                } else {
                    "fine if intended (a smaller model trained longer is cheaper to serve)"
                }
            ),
            Warning::Epochs { dataset, tokens } => write!(
                f,
                "--dataset-tokens {} is smaller than the {} training tokens ({:.1} epochs); the sources advise one epoch for LLM pre-training: repeating data, even Wikipedia, degraded results (LLaMA repeated only Wikipedia and Books, about twice)",
                fmt_count(*dataset),
                fmt_count(*tokens),
                tokens / dataset
            ),
            Warning::GpuMismatch {
                given,
                profile,
                effect,
            } => write!(
                f,
                "--gpu {given} is not the profile's device ({profile}); {effect}"
            ),
            Warning::EmptyCommProfile { origin } => write!(
                f,
                "{origin} holds no bus-bandwidth curve (a profile of one GPU has none: its collectives cross no link), so every link comes from the GPU table; measure with 'gpubench comm' on a node of several GPUs, or across nodes"
            ),
            Warning::PlanCalibration { origin, calibrated } => write!(
                f,
                "{origin} measured the shapes of one step ({calibrated}) and its rates price every layout here; the layouts of another tp or micro-batch run other shapes: calibrate the winner's step and check it with 'gpubench estimate'"
            ),
            Warning::CalibratedStep {
                origin,
                calibrated,
                layout,
                command,
            } => write!(
                f,
                "{origin} was calibrated at {calibrated}, this layout runs {layout}: its GEMMs have other shapes, and other rates; '{command}' measures the layout's own"
            ),
        }
    }
}

/// The MFU warning, if `mfu` is outside [`TYPICAL_MFU`].
pub fn check_mfu(scenario: &str, mfu: f64) -> Option<Warning> {
    (mfu < TYPICAL_MFU.0 - 1e-9 || mfu > TYPICAL_MFU.1 + 1e-9).then(|| Warning::MfuOutsideRange {
        scenario: scenario.to_string(),
        mfu,
    })
}

/// The tokens-per-parameter warning, if the ratio is more than a factor 2 from 20.
pub fn check_tokens_per_param(params: f64, tokens: f64) -> Option<Warning> {
    let ratio = tokens / params;
    let lo = 20.0 / TOKENS_PER_PARAM_FACTOR;
    let hi = 20.0 * TOKENS_PER_PARAM_FACTOR;
    (ratio < lo || ratio > hi).then_some(Warning::TokensPerParam { ratio, params })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfu_range() {
        assert!(check_mfu("x", 0.476).is_none());
        assert!(check_mfu("x", 0.30).is_none());
        assert!(check_mfu("x", 0.55).is_none());
        assert!(check_mfu("x", 0.29).is_some());
        let w = check_mfu("spec sheet", 1.0).unwrap().to_string();
        assert!(w.contains("MFU 100.0 %") && w.contains("30–55 %"), "{w}");
    }

    #[test]
    fn tokens_per_param_rule() {
        assert!(check_tokens_per_param(65.2e9, 1.4e12).is_none()); // 21.5
        assert!(check_tokens_per_param(7e9, 1e12).is_some()); // 143
        assert!(check_tokens_per_param(175e9, 300e9).is_some()); // 1.7
        let w = check_tokens_per_param(175e9, 300e9).unwrap().to_string();
        assert!(w.contains("1.7 tokens per parameter"), "{w}");
        assert!(w.contains("smaller model on more data"), "{w}");
        let w = check_tokens_per_param(7e9, 1e12).unwrap().to_string();
        assert!(w.contains("fine if intended"), "{w}");
    }

    #[test]
    fn epochs_message() {
        let w = Warning::Epochs {
            dataset: 0.5e12,
            tokens: 1.4e12,
        }
        .to_string();
        assert!(w.contains("2.8 epochs") && w.contains("one epoch"), "{w}");
        assert!(!w.contains('\n'));
    }
}
