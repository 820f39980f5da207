//! `gpubench comm`: NCCL collectives between the GPUs of this machine, nccl-tests style
//! (sizes from `--min-bytes` to `--max-bytes`, algbw and busbw), each result checked, the
//! busbw curves saved as a profile `gpubench estimate --comm-profile` reads (docs/comm.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::comm::CommArgs;
use crate::cli::flags::ClusterFlags;
use crate::cluster::launcher::{self, RankOverrides};
use crate::cluster::rendezvous::Rendezvous;
use crate::cluster::RendezvousFlag;
use crate::comm::busbw::{self, Op};
use crate::comm::measure::{self, CommRequest, Ranks};
use crate::comm::profile::{self, Span};
use crate::error::usage;

/// The largest message accepted.
const MAX_BYTES: u64 = 8 << 30;

/// `all` or `0,1,3` → ordinals (`count` GPUs on the machine).
fn parse_devices(s: &str, count: impl FnOnce() -> anyhow::Result<u32>) -> anyhow::Result<Vec<u32>> {
    let t = s.trim();
    if t == "all" {
        return Ok((0..count()?).collect());
    }
    let mut v = Vec::new();
    for part in t.split(',') {
        let p = part.trim().trim_start_matches("cuda:");
        let d: u32 = p.parse().map_err(|_| {
            usage(format!(
                "--device: '{part}' is not a GPU ordinal; give `all` or a list such as 0,1,2,3"
            ))
        })?;
        if v.contains(&d) {
            return Err(usage(format!("--device: cuda:{d} is listed twice")));
        }
        v.push(d);
    }
    Ok(v)
}

/// Turns the flags into a request (all checks that need no GPU).
fn request(
    args: &CommArgs,
    devices: Vec<u32>,
    ranks: Option<Ranks>,
) -> anyhow::Result<CommRequest> {
    if args.max_bytes > MAX_BYTES {
        return Err(usage(format!(
            "--max-bytes: {} is above the 8G gpubench measures; give at most 8G",
            args.max_bytes
        )));
    }
    if args.min_bytes > args.max_bytes {
        return Err(usage(format!(
            "--min-bytes ({}) is larger than --max-bytes ({}); swap them",
            args.min_bytes, args.max_bytes
        )));
    }
    if args.factor < 2 {
        return Err(usage("--factor must be at least 2"));
    }
    if args.iters == 0 {
        return Err(usage("--iters must be at least 1"));
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(usage("--timeout must be a positive number of seconds"));
    }
    let mut ops = if args.op.is_empty() {
        Op::ALL.to_vec()
    } else {
        args.op.clone()
    };
    ops.dedup();
    let mut elems = args.dtype.clone();
    elems.dedup();
    Ok(CommRequest {
        devices,
        ranks,
        ops,
        elems,
        sizes: busbw::sizes(args.min_bytes, args.max_bytes, args.factor),
        warmup: args.warmup,
        iters: args.iters,
        timeout: Duration::from_secs_f64(args.timeout),
    })
}

/// Runs `gpubench comm`.
pub fn execute(args: CommArgs) -> anyhow::Result<ExitCode> {
    // flags first (no GPU needed), then the libraries
    request(&args, vec![0], None)?;
    let vars = launcher::process_vars();
    let node_file = match &args.results_dir {
        Some(dir) => Some(node_file(dir, &args.cluster, &vars, args.force)?),
        None => None,
    };
    let ranks = match node_file {
        Some(_) => None,
        None => ranks(&args.cluster, &vars)?,
    };
    let lead = ranks.as_ref().is_none_or(|r| r.0.rank == 0);
    let save = match &args.save {
        Some(p) if lead => Some(crate::profile::check_output_file("--save", p, args.force)?),
        _ => None,
    };
    measure::open_libraries()?;
    let (devices, ranks) = match ranks {
        None => (parse_devices(&args.device, measure::device_count)?, None),
        Some((r, local_gpu)) => {
            let d = if args.device.trim() == "all" {
                local_gpu.ok_or_else(|| {
                    usage(format!(
                        "rank {}: no GPU for this rank (CUDA_VISIBLE_DEVICES hides every device); give --device N",
                        r.rank
                    ))
                })?
            } else {
                match parse_devices(&args.device, measure::device_count)?[..] {
                    [d] => d,
                    _ => {
                        return Err(usage(
                            "--device: one rank of a job drives one GPU; give one ordinal, or leave --device out for the local rank's GPU",
                        ))
                    }
                }
            };
            (vec![d], Some(r))
        }
    };
    if devices.is_empty() {
        anyhow::bail!("no GPU found (cuDeviceGetCount = 0); gpubench comm needs GPUs");
    }
    let req = request(&args, devices, ranks)?;
    let quiet = args.json || !lead;
    if !quiet {
        print!("{}", crate::output::comm::header());
    }
    let m = measure::run(&req, |p| {
        if !quiet {
            print!("{}", crate::output::comm::row(p));
        }
    })?;
    if !lead {
        return Ok(ExitCode::SUCCESS);
    }
    let span = if m.one_host { Span::Node } else { Span::Nodes };
    let mut json = profile::to_json(&m, span, req.elems[0], &crate::profile::now_utc());
    if let Some((_, host)) = &node_file {
        json["host"] = host.clone().into();
    }
    if quiet {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", crate::output::comm::summary(&m));
    }
    if let Some(path) = save {
        let text = serde_json::to_string_pretty(&json)? + "\n";
        crate::profile::write_atomic(&path, text.as_bytes(), args.force)?;
        eprintln!("saved {}", path.display());
    }
    if let Some((path, _)) = node_file {
        let text = serde_json::to_string_pretty(&json)? + "\n";
        crate::profile::write_atomic(&path, text.as_bytes(), args.force)?;
        eprintln!("saved {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// With `--results-dir`: this node's file (`comm-<host>.json`) and the node's name, checked
/// before anything is measured. One process drives the node's GPUs: under a launcher, only
/// the first task of a node may run (`srun --ntasks-per-node=1`), and rank flags are refused.
fn node_file(
    dir: &std::path::Path,
    flags: &ClusterFlags,
    vars: &launcher::Vars,
    force: bool,
) -> anyhow::Result<(PathBuf, String)> {
    if flags.rank.is_some() || flags.world_size.is_some() || flags.rendezvous.is_some() {
        return Err(usage(
            "--results-dir measures this node's GPUs from one process, not one rank of a job: leave out --rank, --world-size and --rendezvous (or use --save for a job's ranks)",
        ));
    }
    let none = RankOverrides::default();
    if let Some(p) = launcher::detect(&none, vars)? {
        if p.local_rank.is_some_and(|l| l > 0) {
            return Err(usage(format!(
                "--results-dir: this is task {} of its node ({}); one process per node drives every GPU of the node: start one task per node (srun --ntasks-per-node=1, mpirun -N 1)",
                p.local_rank.unwrap_or(0),
                p.launcher
            )));
        }
    }
    let host = crate::cluster::node_name(vars);
    let target = crate::profile::OutputTarget::check(None, dir, force)?;
    let path = target.dir.join(crate::cluster::links::file_name(&host));
    if std::fs::symlink_metadata(&path).is_ok() && !force {
        return Err(usage(format!(
            "--results-dir {}: already holds {} from an earlier run on this node; give each run its own folder, or --force to replace it",
            dir.display(),
            crate::cluster::links::file_name(&host)
        )));
    }
    let path = crate::profile::check_output_file("--results-dir", &path, true)?;
    Ok((path, host))
}

/// As one rank of a job (a launcher's variables or `--rank`): where it sits, how the ranks
/// meet, and the GPU the local-rank rule gives it. `None` for a plain run.
fn ranks(
    flags: &ClusterFlags,
    vars: &launcher::Vars,
) -> anyhow::Result<Option<(Ranks, Option<u32>)>> {
    let overrides = RankOverrides {
        rank: flags.rank,
        world_size: flags.world_size,
        local_rank: flags.local_rank,
        master_addr: flags.master_addr.clone(),
        master_port: flags.master_port,
    };
    let Some(p) = launcher::detect(&overrides, vars)? else {
        if flags.rendezvous.is_some() {
            return Err(usage(
                "--rendezvous needs ranks: start gpubench under srun, mpirun or torchrun, or give --rank and --world-size",
            ));
        }
        return Ok(None);
    };
    let rendezvous = match &flags.rendezvous {
        Some(RendezvousFlag::File(dir)) => Rendezvous::File { dir: dir.clone() },
        _ => match (&p.master_addr, p.rendezvous_port) {
            (Some(host), Some(port)) => Rendezvous::Tcp {
                host: host.clone(),
                port,
            },
            _ => {
                return Err(usage(format!(
                    "rank {} of {} ({}): the ranks must meet to share NCCL's id; give --rendezvous file:DIR (a folder every rank sees), or --master-addr HOST (or MASTER_ADDR) for tcp",
                    p.rank, p.world_size, p.launcher
                )))
            }
        },
    };
    let visible = vars.get("CUDA_VISIBLE_DEVICES").map(String::as_str);
    let (gpu, _) = launcher::local_gpu(p.local_rank, visible)?;
    Ok(Some((
        Ranks {
            rank: p.rank,
            world: p.world_size,
            rendezvous,
            rendezvous_timeout: Duration::from_secs_f64(flags.rendezvous_timeout),
        },
        gpu,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lists() {
        assert_eq!(parse_devices("0,2", || Ok(4)).unwrap(), vec![0, 2]);
        assert_eq!(parse_devices("all", || Ok(3)).unwrap(), vec![0, 1, 2]);
        assert!(parse_devices("0,0", || Ok(4))
            .unwrap_err()
            .to_string()
            .contains("twice"));
        assert!(parse_devices("x", || Ok(4))
            .unwrap_err()
            .to_string()
            .contains("ordinal"));
    }
}
