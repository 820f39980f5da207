//! `gpubench scale`: how much data a model needs, and the compute-optimal model and data sizes
//! for a budget, under the Chinchilla and Kaplan scaling laws.
//!
//! For a model (`--params` or `--model`): the Chinchilla rule's tokens (20 per parameter) and
//! their size on disk (`--bytes-per-token`, default 4 for int32 ids), beside Kaplan's
//! compute-optimal data for the same size. For a budget (`--compute`): the compute-optimal
//! parameters and tokens under Chinchilla and Kaplan side by side. Always: how model and data
//! grow for `--growth` k× more compute. Formulas in [`crate::estimate::scaling`].

use std::process::ExitCode;

use serde_json::{json, Map, Value};

use super::estimate::resolve_model;
use crate::cli::scale::ScaleArgs;
use crate::error::usage;
use crate::estimate::compute::{self, CHINCHILLA_TOKENS_PER_PARAM};
use crate::estimate::scaling::{self, Law, CHINCHILLA, KAPLAN};
use crate::estimate::{Source, Sourced};
use crate::output::emit;
use crate::output::format::{sci, thousands};
use crate::output::sections::{Section, Sections};
use crate::units::fmt_count;

/// Bytes per token of tokenized data: int32 token ids, as the source assumes.
pub const DEFAULT_BYTES_PER_TOKEN: f64 = 4.0;
/// Compute growth factor shown when `--growth` is not given.
pub const DEFAULT_GROWTH: f64 = 10.0;

fn law_json(law: &Law, n: f64, d: f64, c: f64, k: f64) -> Value {
    let (gn, gd) = law.growth(k);
    json!({
        "params": n, "tokens": d, "flops": c, "tokens_per_param": d / n,
        "a": law.a, "b": law.b,
        "growth_params": gn, "growth_tokens": gd,
        "source": law.source,
    })
}

/// Runs `gpubench scale`.
pub fn execute(args: ScaleArgs) -> anyhow::Result<ExitCode> {
    let model = resolve_model(args.model.name.as_deref(), args.model.config.as_deref())?;
    let params = match (args.params, &model) {
        (Some(p), _) => Some(Sourced::new(p, Source::Given)),
        (None, Some((m, s))) => Some(Sourced::noted(m.params, *s, m.name.clone())),
        _ => None,
    };
    if params.is_some() && args.compute.is_some() {
        return Err(usage(
            "give a model (--params, --model) or a budget (--compute), not both: each fixes what the laws choose",
        ));
    }
    if params.is_none() && args.compute.is_none() {
        return Err(usage(
            "give --params N (or --model NAME) for the data it needs, or --compute C for the compute-optimal size",
        ));
    }
    let bpt = match args.bytes_per_token {
        Some(b) => Sourced::new(b, Source::Given),
        None => Sourced::noted(DEFAULT_BYTES_PER_TOKEN, Source::Default, "int32 token ids"),
    };
    let k = match args.growth {
        Some(k) => Sourced::new(k, Source::Given),
        None => Sourced::new(DEFAULT_GROWTH, Source::Default),
    };
    // Each law's (N, D, C).
    let laws = [CHINCHILLA, KAPLAN];
    let points: Vec<(f64, f64, f64)> = laws
        .iter()
        .map(|law| match (&params, args.compute) {
            (Some(n), _) => {
                let (c, d) = law.for_params(n.value);
                (n.value, d, c)
            }
            (None, Some(c)) => {
                let (n, d) = law.optimal(c);
                (n, d, c)
            }
            _ => unreachable!("checked above"),
        })
        .collect();
    let trained = model.as_ref().and_then(|(m, _)| m.training_tokens);

    if args.json {
        let mut o = Map::new();
        let (n, d, c) = points[0];
        o.insert("params".into(), json!(n));
        o.insert("tokens".into(), json!(d));
        o.insert("flops".into(), json!(c));
        o.insert("pf_days".into(), json!(compute::pf_days(c)));
        o.insert("bytes_per_token".into(), json!(bpt.value));
        o.insert(
            "data_bytes".into(),
            json!(scaling::data_bytes(d, bpt.value)),
        );
        o.insert(
            "data_gb".into(),
            json!(scaling::data_bytes(d, bpt.value) / 1e9),
        );
        o.insert("growth_factor".into(), json!(k.value));
        for (law, (n, d, c)) in laws.iter().zip(&points) {
            o.insert(law.name.into(), law_json(law, *n, *d, *c, k.value));
        }
        if let Some(t) = trained {
            o.insert("model_training_tokens".into(), json!(t));
        }
        o.insert(
            "given".into(),
            json!(if params.is_some() {
                "params"
            } else {
                "compute"
            }),
        );
        emit(&(serde_json::to_string_pretty(&Value::Object(o))? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut sections = Vec::new();
    if let Some(n) = &params {
        let d = scaling::chinchilla_tokens(n.value);
        let mut s = Section::new("Data for the model (Chinchilla rule: 20 tokens per parameter)");
        s.row([
            "parameters".into(),
            format!("{} params", fmt_count(n.value)),
            n.origin(),
        ]);
        s.row([
            "training tokens".into(),
            format!("{} tokens", fmt_count(d)),
            format!("derived, {CHINCHILLA_TOKENS_PER_PARAM:.0} × N"),
        ]);
        s.row([
            "data on disk".into(),
            format!(
                "{} GB",
                thousands(scaling::data_bytes(d, bpt.value) / 1e9, 0)
            ),
            format!(
                "derived, tokens × {} bytes/token ({})",
                bpt.value,
                bpt.origin()
            ),
        ]);
        s.row([
            "training compute 6ND".into(),
            format!("{} FLOPs", sci(compute::training_flops(n.value, d))),
            format!(
                "derived, {} PF-days",
                thousands(compute::pf_days(compute::training_flops(n.value, d)), 1)
            ),
        ]);
        if let Some(t) = trained {
            s.row([
                "the model was trained on".into(),
                format!("{} tokens", fmt_count(t)),
                format!("preset, {:.1} tokens per parameter", t / n.value),
            ]);
        }
        sections.push(s);
    }
    let mut l = Section::new(match args.compute {
        Some(c) => format!(
            "Compute-optimal size for {} FLOPs ({} PF-days, given)",
            sci(c),
            thousands(compute::pf_days(c), 1)
        ),
        None => "Compute-optimal data for this size, by law".to_string(),
    });
    l.header = vec![
        String::new(),
        "Chinchilla (a = b = 0.5)".into(),
        "Kaplan (a = 0.73, b = 0.27)".into(),
    ];
    let cell =
        |f: &dyn Fn(&(f64, f64, f64)) -> String| -> Vec<String> { points.iter().map(f).collect() };
    let mut push = |label: &str, cells: Vec<String>| {
        let mut r = vec![label.to_string()];
        r.extend(cells);
        l.rows.push(r);
    };
    push(
        "parameters N",
        cell(&|p| format!("{} params", fmt_count(p.0))),
    );
    push("tokens D", cell(&|p| format!("{} tokens", fmt_count(p.1))));
    push(
        "tokens per parameter",
        cell(&|p| format!("{:.1}", p.1 / p.0)),
    );
    push("compute C = 6ND", cell(&|p| format!("{} FLOPs", sci(p.2))));
    push(
        "data on disk",
        cell(&|p| {
            format!(
                "{} GB",
                thousands(scaling::data_bytes(p.1, bpt.value) / 1e9, 0)
            )
        }),
    );
    let growth_label = format!("{}× more compute: N ×", trim(k.value));
    push(
        &growth_label,
        laws.iter()
            .map(|law| format!("{:.2}", law.growth(k.value).0))
            .collect(),
    );
    push(
        "                   D ×",
        laws.iter()
            .map(|law| format!("{:.2}", law.growth(k.value).1))
            .collect(),
    );
    sections.push(l);
    let mut out = Sections { sections }.render();
    out.push_str(&format!(
        "\nsources: {}; {}. Kaplan's N counts non-embedding parameters, and his fit spans budgets up to about 1 PF-day: far beyond that it is an extrapolation. Growth factor {} ({}).\n",
        CHINCHILLA.source,
        KAPLAN.source,
        trim(k.value),
        k.source
    ));
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn trim(v: f64) -> String {
    let s = format!("{v}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}
