//! `gpubench scale`: how much data a model needs, and the compute-optimal model and data sizes
//! for a budget, under the Chinchilla and Kaplan scaling laws.
//!
//! For a model (`--params` or `--model`): the Chinchilla rule's tokens (20 per parameter) and
//! their size on disk (`--bytes-per-token`, default 4 for int32 ids), beside Kaplan's
//! compute-optimal data for the same size. For a budget (`--compute`): the compute-optimal
//! parameters and tokens under Chinchilla and Kaplan side by side. Always: how model and data
//! grow for `--growth` k× more compute. Formulas and the report in
//! [`crate::estimate::scaling`], the text view in [`crate::output::scale`].

use std::process::ExitCode;

use super::estimate::resolve_model;
use crate::cli::scale::ScaleArgs;
use crate::error::usage;
use crate::estimate::defaults::{DEFAULT_BYTES_PER_TOKEN, DEFAULT_GROWTH};
use crate::estimate::scaling::{Given, ScaleReport};
use crate::estimate::{Source, Sourced};
use crate::output::emit;

/// Runs `gpubench scale`.
pub fn execute(args: ScaleArgs) -> anyhow::Result<ExitCode> {
    let model = resolve_model(args.model.name.as_deref(), args.model.config.as_deref())?;
    let params = match (args.params, &model) {
        (Some(p), _) => Some(Sourced::new(p, Source::Given)),
        (None, Some((m, s))) => Some(Sourced::noted(m.params, *s, m.name.clone())),
        _ => None,
    };
    let given = match (params, args.compute) {
        (Some(_), Some(_)) => {
            return Err(usage(
                "give a model (--params, --model) or a budget (--compute), not both: each fixes what the laws choose",
            ))
        }
        (None, None) => {
            return Err(usage(
                "give --params N (or --model NAME) for the data it needs, or --compute C for the compute-optimal size",
            ))
        }
        (Some(n), None) => Given::Params(n),
        (None, Some(c)) => Given::Compute(c),
    };
    let bpt = match args.bytes_per_token {
        Some(b) => Sourced::new(b, Source::Given),
        None => Sourced::noted(DEFAULT_BYTES_PER_TOKEN, Source::Default, "int32 token ids"),
    };
    let k = match args.growth {
        Some(k) => Sourced::new(k, Source::Given),
        None => Sourced::new(DEFAULT_GROWTH, Source::Default),
    };
    let trained = model.as_ref().and_then(|(m, _)| m.training_tokens);
    let report = ScaleReport::of(given, bpt, k, trained);
    if args.json {
        emit(&(serde_json::to_string_pretty(&report.json())? + "\n"))?;
    } else {
        emit(&crate::output::scale::text(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}
