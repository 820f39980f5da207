//! `gpubench show FILE`: print a saved profile as the command that made it did (the run
//! table, a node's GPUs and summary, or a sweep's summary), or as JSON.

use std::process::ExitCode;

use crate::cli::show::ShowArgs;
use crate::output::format::{utc_stamp, wrap};
use crate::output::table::Width;
use crate::profile::Profile;

/// Runs `gpubench show`.
pub fn execute(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let profile = Profile::load(&args.file)?;
    if args.json {
        println!("{}", profile.to_json());
    } else {
        let width = Width::from_wide(args.wide);
        let title = format!(
            "Profile {} (gpubench {}, {}, {})",
            args.file.display(),
            profile.tool.version,
            utc_stamp(&profile.created_utc),
            profile.kind
        );
        println!("{}", wrap(&title, width.columns(), "  "));
        if profile.kind == crate::profile::ProfileKind::Sweep {
            print!(
                "{}",
                crate::output::sweep::render(&profile, args.top, None, width)
            );
            if let Some(why) = profile.incomplete() {
                println!("Not complete ({why}): these are the points completed before the stop.");
            }
        } else if let Some(gpus) = node_gpus(&profile) {
            print!("{}", node(&profile, gpus, args.wide));
        } else {
            print!("{}", crate::output::results::render(&profile, width));
            for r in &profile.results {
                print!("{}", crate::output::sustained::render(r));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The GPUs of a node's profile (`run --device all`): `Some(count)` when its results name two
/// GPUs or more.
fn node_gpus(p: &Profile) -> Option<u32> {
    let gpus: std::collections::BTreeSet<u32> = p
        .results
        .iter()
        .filter_map(|r| r.gpu.as_ref().map(|g| g.ordinal))
        .collect();
    (gpus.len() >= 2).then_some(gpus.len() as u32)
}

/// A node's profile as `run --device all` printed it: one line per GPU and result, the node
/// summary, a burn-in's row per GPU (with `wide`, every GPU's windows too), and the GPUs the
/// rules flag at the default threshold.
fn node(p: &Profile, gpus: u32, wide: bool) -> String {
    use crate::commands::node_all;
    let mut out = format!("Device: {} (every GPU of the node)\n", p.device.name);
    out.push_str(&crate::output::node::render(
        &p.results,
        gpus,
        crate::output::table::Width::from_wide(wide),
    ));
    out.push_str(&crate::output::node::render_sustained(&p.results));
    if wide {
        for r in &p.results {
            if let Some(g) = &r.gpu {
                let text = crate::output::sustained::render(r);
                if !text.is_empty() {
                    out.push_str(&format!("cuda:{}: {text}", g.ordinal));
                }
            }
        }
    }
    let threshold = crate::cluster::outliers::Rules::default().threshold;
    let flags = node_all::check(&p.results, &[], threshold);
    if flags.is_empty() {
        out.push_str(&format!(
            "No GPU flagged (threshold {threshold:.2} of the node median).\n"
        ));
    }
    for f in &flags {
        out.push_str(&format!(
            "flagged: cuda:{} {}: {}\n",
            f.rank,
            f.what,
            node_all::describe(&f.reason)
        ));
    }
    out
}
