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
pub mod merge;
pub mod outliers;
pub mod rankfile;
pub mod rendezvous;

use std::path::PathBuf;
use std::time::Duration;

use crate::backend::{Backend, DeviceChoice};
use crate::error::usage;
use launcher::{Placement, RankOverrides, Vars};
pub use rankfile::ClusterInfo;
use rendezvous::Rendezvous;

/// `run`'s flags for a rank of a job (`#[command(flatten)]`); unset ones come from the
/// launcher's variables.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClusterFlags {
    /// This process's rank in the job [from RANK, SLURM_PROCID, OMPI_COMM_WORLD_RANK or PMI_RANK].
    #[arg(long, value_name = "R")]
    pub rank: Option<u32>,
    /// Number of ranks in the job [from WORLD_SIZE, SLURM_NTASKS, OMPI_COMM_WORLD_SIZE or PMI_SIZE].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub world_size: Option<u32>,
    /// This rank's place on its node; it picks the GPU [from LOCAL_RANK, SLURM_LOCALID, …].
    #[arg(long, value_name = "L")]
    pub local_rank: Option<u32>,
    /// Host of rank 0, for the rendezvous [from MASTER_ADDR, else Slurm's first node].
    #[arg(long, value_name = "HOST")]
    pub master_addr: Option<String>,
    /// Port of rank 0, for the rendezvous [from MASTER_PORT, else 29500].
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub master_port: Option<u16>,
    /// Wait for every rank before measuring: `tcp` (rank 0 listens at the master address and
    /// port) or `file:DIR` (a folder every rank sees).
    #[arg(long, value_name = "tcp|file:DIR", value_parser = rendezvous_flag)]
    pub rendezvous: Option<RendezvousFlag>,
    /// Give up waiting for the other ranks after this many seconds, naming the missing ones.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0, value_parser = timeout_flag)]
    pub rendezvous_timeout: f64,
}

/// `--rendezvous`: how the ranks meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RendezvousFlag {
    Tcp,
    File(PathBuf),
}

fn rendezvous_flag(s: &str) -> Result<RendezvousFlag, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("tcp") {
        return Ok(RendezvousFlag::Tcp);
    }
    match t.strip_prefix("file:") {
        Some(d) if !d.is_empty() => Ok(RendezvousFlag::File(PathBuf::from(d))),
        _ => Err(format!(
            "'{s}': give tcp (rank 0 at --master-addr:--master-port) or file:DIR (a shared folder)"
        )),
    }
}

fn timeout_flag(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!(
            "'{s}': give seconds, more than 0 and at most 86400"
        )),
    }
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
        flags: &ClusterFlags,
        vars: &Vars,
        save: &crate::cli::flags::SaveFlags,
        device: DeviceChoice,
    ) -> anyhow::Result<Option<RankRun>> {
        let overrides = RankOverrides {
            rank: flags.rank,
            world_size: flags.world_size,
            local_rank: flags.local_rank,
            master_addr: flags.master_addr.clone(),
            master_port: flags.master_port,
        };
        let Some(placement) = launcher::detect(&overrides, vars)? else {
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
        let saver = rankfile::RankSaver::check(&save.results_dir, placement.rank, save.force)?;
        // Slurm's name for the node where there is one (what `scontrol` and `sinfo` take),
        // else the host's own name.
        let host = vars
            .get("SLURMD_NODENAME")
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .or_else(|| crate::profile::HostInfo::detect().hostname)
            .unwrap_or_else(|| "unknown-host".into());
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
            timeout: Duration::from_secs_f64(flags.rendezvous_timeout),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendezvous_and_timeout_flags() {
        assert_eq!(rendezvous_flag("tcp"), Ok(RendezvousFlag::Tcp));
        assert_eq!(rendezvous_flag(" TCP "), Ok(RendezvousFlag::Tcp));
        assert_eq!(
            rendezvous_flag("file:/shared/rdv"),
            Ok(RendezvousFlag::File("/shared/rdv".into()))
        );
        for bad in ["file:", "udp", "", "tcp:29500"] {
            assert!(rendezvous_flag(bad).is_err(), "{bad}");
        }
        assert_eq!(timeout_flag("1.5"), Ok(1.5));
        for bad in ["0", "-1", "inf", "x", "100000"] {
            assert!(timeout_flag(bad).is_err(), "{bad}");
        }
    }
}
