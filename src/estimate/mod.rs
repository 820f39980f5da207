//! Planning formulas: what a training run costs in FLOPs, time, GPUs, memory, money, energy
//! and carbon, fed by spec-sheet peaks or by a measured profile.
//!
//! Every function here is pure (numbers in, numbers out) and unit-tested against the worked
//! examples of `docs/sources.md`; the commands in `src/commands/` read flags and files, call these,
//! and print through `output` (`output::estimate`, `output::layout`, ...). Each figure shown to a
//! user carries a [`Source`] saying where it came from.
//!
//! Layering: estimate builds on the leaves (`units`, `dtype`, `error`, `peak`), `model` and the
//! measured `profile`; it renders nothing for the terminal and imports neither `calibrate`
//! (which builds on these formulas) nor `output` (which shows their results).
//!
//! - [`compute`]: C = 6ND (8ND with full recomputation), PF-days, PaLM's attention term.
//! - [`time`]: throughput ↔ time ↔ GPU count, MFU.
//! - [`memory`]: weights, gradients, optimizer states, activations, ZeRO sharding, the
//!   optimizer step's bytes per parameter, and the report `gpubench memory` shows.
//! - [`scaling`]: Chinchilla and Kaplan compute-optimal sizes, the 20-tokens rule, and the
//!   report `gpubench scale` shows.
//! - [`cost`] and [`energy`]: money, MWh and tCO2eq.
//! - [`defaults`]: the MFU, GEMM utilization, CUDA context, bytes per token and growth
//!   factor assumed when none is given.
//! - [`measured`]: the figures a profile contributes (best valid result, power, memory).
//! - [`scenario`]: one estimate (a spec-sheet and a calibrated scenario) from resolved inputs.
//! - [`json`]: an estimate as JSON.
//! - [`layout`]: the step time of a parallel layout, a GPU row as its hardware, and the
//!   search over layouts (a plan).
//! - [`input`] and [`warnings`]: number parsing and the warnings an estimate carries.

use serde::Serialize;

pub mod compute;
pub mod cost;
pub mod defaults;
pub mod energy;
pub mod input;
pub mod json;
pub mod layout;
pub mod measured;
pub mod memory;
pub mod scaling;
pub mod scenario;
pub mod time;
pub mod warnings;

/// Where a figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Measured on a device (from a profile).
    Measured,
    /// From the GPU table's datasheet figures.
    Spec,
    /// A documented default.
    Default,
    /// Given on the command line.
    Given,
    /// Computed from other figures.
    Derived,
    /// From a model preset (`data/models.json`).
    Preset,
    /// From a Hugging Face config file.
    Config,
}

impl Source {
    /// The word shown in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Source::Measured => "measured",
            Source::Spec => "spec",
            Source::Default => "default",
            Source::Given => "given",
            Source::Derived => "derived",
            Source::Preset => "preset",
            Source::Config => "config",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A number with its origin and an optional note ("TDP of a100-sxm-80gb").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sourced {
    pub value: f64,
    pub source: Source,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Sourced {
    /// A figure with no note.
    pub fn new(value: f64, source: Source) -> Self {
        Sourced {
            value,
            source,
            note: String::new(),
        }
    }

    /// A figure with a note.
    pub fn noted(value: f64, source: Source, note: impl Into<String>) -> Self {
        Sourced {
            value,
            source,
            note: note.into(),
        }
    }

    /// "source" or "source: note", as the tables print it.
    pub fn origin(&self) -> String {
        if self.note.is_empty() {
            self.source.name().to_string()
        } else {
            format!("{}, {}", self.source, self.note)
        }
    }
}

/// Seconds per day.
pub const DAY_S: f64 = 86_400.0;
