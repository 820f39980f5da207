//! `gpubench models`: the model presets of `data/models.json` — reported and computed
//! parameter counts, architecture, training tokens and sources; with a name (or
//! `--model-config`), one model's parameter count part by part.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::models::ModelsArgs;
use crate::model::{self, ModelConfig};
use crate::output::emit;
use crate::output::format::fit_line;
use crate::output::sections::{Section, Sections};
use crate::output::table::{Align, Table, Width, DEFAULT_WIDTH};
use crate::units::fmt_count;

/// Runs `gpubench models`.
pub fn execute(args: ModelsArgs) -> anyhow::Result<ExitCode> {
    let one: Option<ModelConfig> = match (&args.name, &args.model_config) {
        (Some(n), _) => Some(model::lookup(n)?.clone()),
        (None, Some(p)) => Some(ModelConfig::from_hf_config(p)?),
        _ => None,
    };
    if let Some(m) = one {
        return show_one(&m, args.json);
    }
    let rows = model::table();
    if args.json {
        let v: Vec<_> = rows
            .iter()
            .map(|m| {
                let mut j = serde_json::to_value(m).expect("a preset serializes");
                j["param_count"] = json!(m.param_count());
                j
            })
            .collect();
        emit(&(serde_json::to_string_pretty(&v)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = Width::from_wide(args.wide);
    let mut t = Table::new();
    t.indent = "  ".into();
    for (h, priority) in [
        ("name", 0),
        ("params", 0),
        ("formula", 1),
        ("layers", 0),
        ("hidden", 0),
        ("heads", 0),
        ("kv", 0),
        ("ffn", 0),
        ("vocab", 0),
        ("context", 2),
        ("tokens", 0),
        ("mlp", 3),
    ] {
        t = t.optional(h, Align::Left, priority);
    }
    for m in rows {
        t.rows.push(vec![
            m.name.clone(),
            fmt_count(m.params),
            fmt_count(m.param_count()),
            m.layers.to_string(),
            m.hidden.to_string(),
            m.heads.to_string(),
            m.kv_heads.to_string(),
            m.ffn.to_string(),
            m.vocab.to_string(),
            m.context.to_string(),
            m.training_tokens
                .map(fmt_count)
                .unwrap_or_else(|| "–".into()),
            if m.gated_mlp { "gated" } else { "2-matrix" }.into(),
        ]);
    }
    let mut out = "Model presets (--model NAME)\n".to_string() + &t.render(width);
    out += &t.left_out_line(width);
    out.push_str("\nparams: as reported by the source (what 6ND uses); formula: computed from the architecture.\nRun 'gpubench models NAME' for one model's parts and source.\n");
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn show_one(m: &ModelConfig, json_out: bool) -> anyhow::Result<ExitCode> {
    let b = m.param_breakdown();
    if json_out {
        let mut j = serde_json::to_value(m)?;
        j["param_count"] = json!(m.param_count());
        j["param_breakdown"] = serde_json::to_value(b)?;
        emit(&(serde_json::to_string_pretty(&j)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = Section::new(format!("{}: parameters by part", m.name));
    let count = |v: f64| {
        format!(
            "{} ({})",
            fmt_count(v),
            crate::output::format::thousands(v, 0)
        )
    };
    let mlp = if m.gated_mlp { "3" } else { "2" };
    for (label, v, how) in [
        ("embeddings", b.embedding, "V·h".to_string()),
        (
            "position table",
            b.positions,
            "T·h (learned positions)".to_string(),
        ),
        (
            "attention",
            b.attention,
            format!("L·(2·h·a·d + 2·h·k·d), {} KV heads", m.kv_heads),
        ),
        ("MLP", b.mlp, format!("L·{mlp}·h·f")),
        ("norms", b.norms, "(2L + 1) norms".to_string()),
        (
            "LM head",
            b.lm_head,
            if m.tie_word_embeddings {
                "tied to embeddings".into()
            } else {
                "V·h".to_string()
            },
        ),
    ] {
        if v > 0.0 {
            s.row([label.to_string(), count(v), how]);
        } else if label == "LM head" {
            s.row([label.to_string(), "0".into(), how]);
        }
    }
    s.row([
        "total (formula)".to_string(),
        count(b.total()),
        "derived".to_string(),
    ]);
    s.row([
        "reported".to_string(),
        count(m.params),
        "source".to_string(),
    ]);
    if let Some(t) = m.training_tokens {
        s.row([
            "training tokens".to_string(),
            fmt_count(t),
            "source".to_string(),
        ]);
    }
    let mut out = Sections { sections: vec![s] }.render();
    out.push('\n');
    out.push_str(&fit_line(&format!("source: {}", m.source), DEFAULT_WIDTH));
    out.push('\n');
    if let Some(n) = &m.param_note {
        out.push_str(&fit_line(&format!("note: {n}"), DEFAULT_WIDTH));
        out.push('\n');
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
