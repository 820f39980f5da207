//! `gpubench gpus`: the GPU presets of `data/gpus.json` — dense spec-sheet peaks per dtype,
//! memory, TDP and the datasheet each row comes from, in a table that fits 100 columns
//! (the aliases left out first; `--wide` keeps them).

use std::process::ExitCode;

use crate::cli::gpus::GpusArgs;
use crate::dtype::DType;
use crate::output::emit;
use crate::output::format::fit_line;
use crate::output::table::{Align, Table, Width};
use crate::peak;

fn peak_cell(v: Option<f64>) -> String {
    v.map(crate::output::format::as_given)
        .unwrap_or_else(|| "–".into())
}

/// Runs `gpubench gpus`.
pub fn execute(args: GpusArgs) -> anyhow::Result<ExitCode> {
    let rows: Vec<&peak::GpuSpec> = match &args.name {
        Some(n) => vec![peak::lookup(n)?],
        None => peak::table().iter().collect(),
    };
    if args.json {
        emit(&(serde_json::to_string_pretty(&rows)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let order = [
        DType::Fp64,
        DType::Fp32,
        DType::Tf32,
        DType::Fp16,
        DType::Bf16,
        DType::Fp8,
    ];
    let width = Width::from_wide(args.wide);
    let mut t = Table::new();
    t.indent = "  ".into();
    for h in ["key", "name", "memory", "TDP"] {
        t = t.column(h, Align::Left);
    }
    for d in order {
        t = t.column(d.name(), Align::Left);
    }
    t = t.optional("aliases", Align::Left, 1);
    for g in &rows {
        let mut r = vec![
            g.key.clone(),
            g.name.clone(),
            format!("{} GB", g.memory_gb),
            format!("{} W", g.tdp_w),
        ];
        r.extend(order.iter().map(|d| peak_cell(g.peak(*d))));
        r.push(g.aliases.join(", "));
        t.rows.push(r);
    }
    let mut out =
        "GPU presets: dense spec-sheet peaks in TFLOPS (no sparsity), memory, TDP\n".to_string();
    out += &t.render(width);
    out += &t.left_out_line(width);
    out.push_str("\nsources:\n");
    for g in &rows {
        out.push_str(&fit_line(
            &format!("  {}: {}", g.key, g.source),
            width.columns(),
        ));
        out.push('\n');
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
