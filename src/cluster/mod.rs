//! Every GPU of a cluster measured on the launcher the cluster already has (Slurm, MPI,
//! torchrun): which rank a process is ([`launcher`], [`hostlist`]), its own result file
//! ([`rankfile`]), an optional meeting of all ranks before measuring ([`rendezvous`]), and the
//! merge of the rank files into one report with the GPUs and ranks that need a look
//! ([`merge`], [`outliers`]).
//!
//! gpubench does not schedule or place processes and brings no communication library: the
//! launcher starts one `gpubench run` per GPU, and each rank works alone but for the
//! rendezvous. The rules and commands are in docs/cluster.md.

pub mod hostlist;
pub mod launcher;
pub mod links;
pub mod merge;
pub mod outliers;
pub mod rankfile;
pub mod rendezvous;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backend::{Backend, DeviceChoice};
use crate::error::usage;
pub use launcher::RankOverrides;
use launcher::{Placement, Vars};
pub use rankfile::ClusterInfo;
use rendezvous::Rendezvous;

/// What the command line says about this rank of a job; unset ones come from the launcher's
/// variables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RankOptions {
    pub overrides: RankOverrides,
    /// `--rendezvous`: wait for every rank before measuring.
    pub rendezvous: Option<RendezvousFlag>,
    /// Give up waiting for the other ranks after this many seconds.
    pub rendezvous_timeout_s: f64,
}

/// Where the command was asked to save (a rank writes its own file in `results_dir`).
#[derive(Debug, Clone, Copy)]
pub struct SaveRequest<'a> {
    pub out: Option<&'a Path>,
    pub results_dir: &'a Path,
    pub force: bool,
    pub no_save: bool,
}

/// `--rendezvous`: how the ranks meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RendezvousFlag {
    Tcp,
    File(PathBuf),
}

/// The node's name in reports: Slurm's name for it where there is one (`SLURMD_NODENAME`, what
/// `scontrol` and `sinfo` take), else the host's own name.
pub fn node_name(vars: &Vars) -> String {
    vars.get("SLURMD_NODENAME")
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .or_else(|| crate::profile::HostInfo::detect().hostname)
        .unwrap_or_else(|| "unknown-host".into())
}

/// A `gpubench run` that is one rank of a job: where it sits, its device, its file.
#[derive(Debug)]
pub struct RankRun {
    pub placement: Placement,
    /// The `cluster` section every save writes (its `saved_utc` is stamped at each save).
    pub info: ClusterInfo,
    /// The GPU index `--device auto` means for this rank (`None`: no GPU visible to it).
    local_gpu: Option<u32>,
    pub saver: rankfile::RankSaver,
    rendezvous: Option<Rendezvous>,
    timeout: Duration,
}

impl RankRun {
    /// Reads the flags and the launcher's variables; `None` for a plain run. Checks, before
    /// anything is measured, the rank's file in `--results-dir` and the rendezvous settings.
    pub fn prepare(
        flags: &RankOptions,
        vars: &Vars,
        save: SaveRequest<'_>,
        device: DeviceChoice,
    ) -> anyhow::Result<Option<RankRun>> {
        let Some(placement) = launcher::detect(&flags.overrides, vars)? else {
            if flags.rendezvous.is_some() {
                return Err(usage(
                    "--rendezvous needs ranks: start gpubench under srun, mpirun or torchrun, or give --rank and --world-size",
                ));
            }
            return Ok(None);
        };
        if save.out.is_some() {
            return Err(usage(format!(
                "--out names one file but this is rank {} of {} ({}); each rank writes rank-NNNNN.json into --results-dir: give --results-dir DIR (a folder every node sees)",
                placement.rank, placement.world_size, placement.launcher
            )));
        }
        if save.no_save {
            return Err(usage(
                "--no-save with a launcher: the ranks' files are the result; give --results-dir DIR (a folder every node sees)",
            ));
        }
        let visible = vars.get("CUDA_VISIBLE_DEVICES").map(String::as_str);
        let (local_gpu, device_rule) = match device {
            DeviceChoice::Auto => launcher::local_gpu(placement.local_rank, visible)?,
            DeviceChoice::Cpu => (
                None,
                match launcher::local_gpu(placement.local_rank, visible) {
                    Ok((_, rule)) => {
                        format!("cpu (--device cpu; the local-rank rule gives {rule})")
                    }
                    Err(_) => "cpu (--device cpu)".into(),
                },
            ),
            DeviceChoice::Cuda(i) => (Some(i), format!("cuda:{i} (--device)")),
            DeviceChoice::All => return Err(crate::backend::all_is_for_run()),
        };
        let rendezvous = match &flags.rendezvous {
            None => None,
            Some(RendezvousFlag::File(dir)) => Some(Rendezvous::File { dir: dir.clone() }),
            Some(RendezvousFlag::Tcp) => {
                let (Some(host), Some(port)) = (&placement.master_addr, placement.rendezvous_port)
                else {
                    return Err(usage(format!(
                        "--rendezvous tcp needs rank 0's address: {} gives none; give --master-addr HOST (and --master-port PORT) or set MASTER_ADDR",
                        placement.launcher
                    )));
                };
                Some(Rendezvous::Tcp {
                    host: host.clone(),
                    port,
                })
            }
        };
        let saver = rankfile::RankSaver::check(save.results_dir, placement.rank, save.force)?;
        let host = node_name(vars);
        let info = ClusterInfo {
            launcher: placement.launcher.into(),
            rank: placement.rank,
            world_size: placement.world_size,
            local_rank: placement.local_rank,
            host,
            master_addr: placement.master_addr.clone(),
            master_port: placement.master_port,
            job_id: placement.job_id.clone(),
            device_rule,
            session: None,
            saved_utc: crate::profile::now_utc(),
        };
        Ok(Some(RankRun {
            placement,
            info,
            local_gpu,
            saver,
            rendezvous,
            timeout: Duration::from_secs_f64(flags.rendezvous_timeout_s),
        }))
    }

    /// Opens this rank's device: `--device auto` is the local rank's GPU (the CPU, with a
    /// notice, when that GPU does not open); any other `--device` as given.
    pub fn open(&self, device: DeviceChoice) -> anyhow::Result<(Box<dyn Backend>, Option<String>)> {
        match device {
            DeviceChoice::Auto => {
                let fallback = |why: String| -> anyhow::Result<(Box<dyn Backend>, Option<String>)> {
                    Ok((
                        Box::new(crate::backend::cpu::CpuBackend::new()),
                        Some(format!(
                            "notice: rank {}: {why}; measuring the CPU instead",
                            self.info.rank
                        )),
                    ))
                };
                match self.local_gpu {
                    None => fallback(self.info.device_rule.clone()),
                    Some(i) => match crate::backend::cuda::open(i) {
                        Ok(b) => Ok((b, None)),
                        Err(e) => fallback(format!(
                            "no GPU cuda:{i} ({})",
                            format!("{e:#}").replace('\n', " ")
                        )),
                    },
                }
            }
            other => crate::backend::open(other),
        }
    }

    /// A line for standard error: which rank this is and which device it measures.
    pub fn describe(&self) -> String {
        let c = &self.info;
        format!(
            "Rank {} of {} ({}{}, host {}): {}; saving to {}",
            c.rank,
            c.world_size,
            c.launcher,
            c.local_rank
                .map(|l| format!(", local rank {l}"))
                .unwrap_or_default(),
            c.host,
            c.device_rule,
            self.saver.path().display()
        )
    }

    /// With `--rendezvous`, waits for every rank; rank 0 hands out a random token that every
    /// rank records as `cluster.session`, so the report can tell one job's files from another's.
    pub fn meet(&mut self) -> anyhow::Result<()> {
        let Some(how) = &self.rendezvous else {
            return Ok(());
        };
        let mine = (self.info.rank == 0).then(rand::random::<[u8; rendezvous::BLOB_LEN]>);
        let blob = rendezvous::exchange(
            how,
            self.info.rank,
            self.info.world_size,
            mine.as_ref().map(|b| &b[..]),
            self.timeout,
        )?;
        self.info.session = Some(blob.iter().take(8).map(|b| format!("{b:02x}")).collect());
        Ok(())
    }
}
