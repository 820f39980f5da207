//! `gpubench gpus`: the GPU presets of `data/gpus.json` — dense spec-sheet peaks per dtype,
//! memory, TDP and the datasheet each row comes from.

use std::process::ExitCode;

use crate::cli::gpus::GpusArgs;
use crate::dtype::DType;
use crate::output::emit;
use crate::output::sections::{Section, Sections};
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
    let mut s =
        Section::new("GPU presets: dense spec-sheet peaks in TFLOPS (no sparsity), memory, TDP");
    s.header = ["key", "name", "memory", "TDP"]
        .iter()
        .map(|h| h.to_string())
        .chain(order.iter().map(|d| d.name().to_string()))
        .chain(["aliases".to_string()])
        .collect();
    for g in &rows {
        let mut r = vec![
            g.key.clone(),
            g.name.clone(),
            format!("{} GB", g.memory_gb),
            format!("{} W", g.tdp_w),
        ];
        r.extend(order.iter().map(|d| peak_cell(g.peak(*d))));
        r.push(g.aliases.join(", "));
        s.rows.push(r);
    }
    let mut out = Sections { sections: vec![s] }.render();
    out.push_str("\nsources:\n");
    for g in &rows {
        out.push_str(&format!("  {}: {}\n", g.key, g.source));
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
