//! Which rank this process is, from the launcher that started it, so that one `gpubench run`
//! command line serves every rank of a Slurm, MPI or torchrun job.
//!
//! Sources, first match wins: the `--rank`/`--world-size`/`--local-rank`/`--master-addr`/
//! `--master-port` flags (each overrides its field); torchrun (`RANK`, `WORLD_SIZE`,
//! `LOCAL_RANK`, `MASTER_ADDR`, `MASTER_PORT`); Slurm (`SLURM_PROCID`, `SLURM_NTASKS`,
//! `SLURM_LOCALID`, `SLURM_JOB_NODELIST`, whose first host is the rendezvous host); Open MPI
//! (`OMPI_COMM_WORLD_RANK`, `OMPI_COMM_WORLD_SIZE`, `OMPI_COMM_WORLD_LOCAL_RANK`); PMI
//! (`PMI_RANK`, `PMI_SIZE`, with MPICH's and Intel MPI's `MPI_LOCALRANKID`). A launcher
//! inside another (`srun torchrun …`) is read as the innermost one, torchrun, which is why
//! torchrun comes before Slurm. Everything here is a pure function of a map of variables.

use std::collections::BTreeMap;

use crate::error::usage;

/// Environment variables by name (a copy of the process environment, or a test's own).
pub type Vars = BTreeMap<String, String>;

/// The process environment as [`Vars`] (variables that are not UTF-8 are left out).
pub fn process_vars() -> Vars {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Rank settings given on the command line (each `None` when not given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RankOverrides {
    pub rank: Option<u32>,
    pub world_size: Option<u32>,
    pub local_rank: Option<u32>,
    pub master_addr: Option<String>,
    pub master_port: Option<u16>,
}

/// Where this process sits in the job.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// `flags`, `torchrun`, `slurm`, `openmpi` or `pmi`.
    pub launcher: &'static str,
    pub rank: u32,
    pub world_size: u32,
    /// Rank among the processes on this node; `None` where the launcher does not say.
    pub local_rank: Option<u32>,
    /// The rendezvous host and port, where known.
    pub master_addr: Option<String>,
    pub master_port: Option<u16>,
    /// The port gpubench's own TCP rendezvous uses: the master port, or the one above it
    /// under torchrun when its agent already serves a store on the master port
    /// (`TORCHELASTIC_USE_AGENT_STORE=True`).
    pub rendezvous_port: Option<u16>,
    /// The job's id as the launcher names it (`SLURM_JOB_ID`, `TORCHELASTIC_RUN_ID`, …).
    pub job_id: Option<String>,
}

/// The port used when neither `--master-port` nor `MASTER_PORT` gives one (torchrun's).
pub const DEFAULT_MASTER_PORT: u16 = 29500;

/// One launcher's variable names.
struct Source {
    launcher: &'static str,
    rank: &'static str,
    size: &'static str,
    local: &'static str,
    job: &'static str,
}

const SOURCES: [Source; 4] = [
    Source {
        launcher: "torchrun",
        rank: "RANK",
        size: "WORLD_SIZE",
        local: "LOCAL_RANK",
        job: "TORCHELASTIC_RUN_ID",
    },
    Source {
        launcher: "slurm",
        rank: "SLURM_PROCID",
        size: "SLURM_NTASKS",
        local: "SLURM_LOCALID",
        job: "SLURM_JOB_ID",
    },
    Source {
        launcher: "openmpi",
        rank: "OMPI_COMM_WORLD_RANK",
        size: "OMPI_COMM_WORLD_SIZE",
        local: "OMPI_COMM_WORLD_LOCAL_RANK",
        job: "OMPI_MCA_ess_base_jobid",
    },
    Source {
        launcher: "pmi",
        rank: "PMI_RANK",
        size: "PMI_SIZE",
        local: "MPI_LOCALRANKID",
        job: "PMI_JOBID",
    },
];

fn get<'a>(vars: &'a Vars, name: &str) -> Option<&'a str> {
    vars.get(name).map(|v| v.trim())
}

fn number(vars: &Vars, name: &str) -> anyhow::Result<Option<u32>> {
    match get(vars, name) {
        None => Ok(None),
        Some(v) => v.parse::<u32>().map(Some).map_err(|_| {
            usage(format!(
                "{name}={v:?} is not a whole number; the launcher's variables are damaged, or set {name} correctly"
            ))
        }),
    }
}

/// Where this process sits, from the flags and the launcher's variables; `None` when neither
/// names a rank (a plain, single-process run). Incomplete or contradictory settings are a
/// usage error naming the variables and flags involved.
pub fn detect(flags: &RankOverrides, vars: &Vars) -> anyhow::Result<Option<Placement>> {
    // (source, rank, size, local rank) of the first launcher whose variables are set.
    type Found<'a> = (&'a Source, Option<u32>, Option<u32>, Option<u32>);
    let mut found: Option<Found> = None;
    for s in &SOURCES {
        let (r, n, l) = (
            number(vars, s.rank)?,
            number(vars, s.size)?,
            number(vars, s.local)?,
        );
        if r.is_none() && n.is_none() {
            continue;
        }
        found = Some((s, r, n, l));
        break;
    }
    let any_flag = flags.rank.is_some() || flags.world_size.is_some() || flags.local_rank.is_some();
    let Some((src, r, n, l)) = found else {
        if !any_flag {
            if flags.master_addr.is_some() || flags.master_port.is_some() {
                return Err(usage(
                    "--master-addr/--master-port given but no rank: add --rank and --world-size, or start gpubench under srun, mpirun or torchrun",
                ));
            }
            return Ok(None);
        }
        let (rank, world_size) = match (flags.rank, flags.world_size) {
            (Some(r), Some(n)) => (r, n),
            (Some(_), None) => {
                return Err(usage(
                    "--rank given without --world-size (and no launcher variables give one); add --world-size N",
                ))
            }
            (None, Some(_)) => {
                return Err(usage(
                    "--world-size given without --rank (and no launcher variables give one); add --rank R",
                ))
            }
            (None, None) => {
                return Err(usage(
                    "--local-rank given without --rank and --world-size; add both",
                ))
            }
        };
        return finish(
            "flags",
            ("--rank", rank),
            ("--world-size", world_size),
            flags.local_rank.map(|l| ("--local-rank", l)),
            flags,
            vars,
            None,
            None,
        );
    };
    let rank = match (flags.rank, r) {
        (Some(f), _) => ("--rank", f),
        (None, Some(v)) => (src.rank, v),
        (None, None) => {
            return Err(usage(format!(
                "{} variables are incomplete: {} is set but {} is not; start gpubench under the launcher itself, or give --rank",
                src.launcher, src.size, src.rank
            )))
        }
    };
    let size = match (flags.world_size, n) {
        (Some(f), _) => ("--world-size", f),
        (None, Some(v)) => (src.size, v),
        (None, None) => {
            return Err(usage(format!(
                "{} variables are incomplete: {} is set but {} is not; start gpubench under the launcher itself, or give --world-size",
                src.launcher, src.rank, src.size
            )))
        }
    };
    let local = match (flags.local_rank, l) {
        (Some(f), _) => Some(("--local-rank", f)),
        (None, Some(v)) => Some((src.local, v)),
        (None, None) => None,
    };
    let nodes = if src.launcher == "slurm" {
        match get(vars, "SLURM_JOB_NODELIST").or_else(|| get(vars, "SLURM_NODELIST")) {
            Some(list) => Some(
                super::hostlist::expand(list)
                    .map_err(|e| usage(format!("SLURM_JOB_NODELIST: {e}")))?,
            ),
            None => None,
        }
    } else {
        None
    };
    let first_host = nodes.and_then(|n| n.into_iter().next());
    finish(
        src.launcher,
        rank,
        size,
        local,
        flags,
        vars,
        first_host,
        get(vars, src.job).map(String::from),
    )
}

#[allow(clippy::too_many_arguments)]
fn finish(
    launcher: &'static str,
    (rank_name, rank): (&str, u32),
    (size_name, world_size): (&str, u32),
    local: Option<(&str, u32)>,
    flags: &RankOverrides,
    vars: &Vars,
    first_host: Option<String>,
    job_id: Option<String>,
) -> anyhow::Result<Option<Placement>> {
    if world_size == 0 {
        return Err(usage(format!(
            "{size_name} is 0; a job has at least one rank"
        )));
    }
    if rank >= world_size {
        return Err(usage(format!(
            "{rank_name} {rank} is not below {size_name} {world_size}: ranks run from 0 to {}; the two come from different jobs or were mistyped",
            world_size - 1
        )));
    }
    if let Some((local_name, l)) = local {
        if l >= world_size {
            return Err(usage(format!(
                "{local_name} {l} is not below {size_name} {world_size}: a node cannot hold more ranks than the job; the two come from different launchers or were mistyped"
            )));
        }
    }
    let master_addr = flags
        .master_addr
        .clone()
        .or_else(|| get(vars, "MASTER_ADDR").map(String::from))
        .or(first_host)
        .filter(|a| !a.is_empty());
    let master_port = match (flags.master_port, get(vars, "MASTER_PORT")) {
        (Some(p), _) => Some(p),
        (None, Some(v)) => Some(v.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            usage(format!(
                "MASTER_PORT={v:?} is not a port number (1 to 65535); set it correctly or give --master-port"
            ))
        })?),
        (None, None) => master_addr.as_ref().map(|_| DEFAULT_MASTER_PORT),
    };
    let agent_store = launcher == "torchrun"
        && flags.master_port.is_none()
        && get(vars, "TORCHELASTIC_USE_AGENT_STORE")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let rendezvous_port = match master_port {
        Some(p) if agent_store => Some(p.checked_add(1).ok_or_else(|| {
            usage("MASTER_PORT is 65535 and torchrun's agent holds it; give --master-port for gpubench's rendezvous")
        })?),
        p => p,
    };
    Ok(Some(Placement {
        launcher,
        rank,
        world_size,
        local_rank: local.map(|(_, l)| l),
        master_addr,
        master_port,
        rendezvous_port,
        job_id,
    }))
}

/// The CUDA device a rank measures with `--device auto`, and the rule that chose it, in words.
///
/// - no local rank known: device 0;
/// - `CUDA_VISIBLE_DEVICES` unset: `cuda:LOCAL_RANK`;
/// - it lists one device (as `srun --gpus-per-task=1` sets it): `cuda:0`, that device;
/// - it lists several: `cuda:LOCAL_RANK`, which must be one of them;
/// - it lists none (empty, or `-1`): `None`, no GPU for this rank.
pub fn local_gpu(
    local_rank: Option<u32>,
    visible: Option<&str>,
) -> anyhow::Result<(Option<u32>, String)> {
    let Some(l) = local_rank else {
        return Ok((Some(0), "cuda:0 (the launcher gives no local rank)".into()));
    };
    let Some(list) = visible else {
        return Ok((Some(l), format!("cuda:{l} = local rank {l}")));
    };
    let devices: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .take_while(|d| !d.starts_with('-'))
        .collect();
    match devices.len() {
        0 => Ok((None, format!("no GPU: CUDA_VISIBLE_DEVICES={list:?} hides every device"))),
        1 => Ok((
            Some(0),
            format!("cuda:0 = the one device CUDA_VISIBLE_DEVICES={list} leaves this rank (local rank {l})"),
        )),
        k if (l as usize) < k => Ok((
            Some(l),
            format!("cuda:{l} = local rank {l} among CUDA_VISIBLE_DEVICES={list}"),
        )),
        k => Err(usage(format!(
            "local rank {l} has no GPU: CUDA_VISIBLE_DEVICES={list} lists {k} devices (cuda:0 to cuda:{}); start one rank per visible GPU, or give --device cuda:N",
            k - 1
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn none() -> RankOverrides {
        RankOverrides::default()
    }

    fn err(flags: &RankOverrides, v: &Vars) -> String {
        let e = detect(flags, v).unwrap_err();
        assert!(crate::error::is_usage(&e));
        e.to_string()
    }

    #[test]
    fn no_launcher_is_a_plain_run() {
        assert_eq!(detect(&none(), &vars(&[("HOME", "/root")])).unwrap(), None);
    }

    #[test]
    fn torchrun_variables() {
        // What torchrun --nnodes=2 --nproc-per-node=8 sets for the 12th worker.
        let v = vars(&[
            ("RANK", "11"),
            ("WORLD_SIZE", "16"),
            ("LOCAL_RANK", "3"),
            ("LOCAL_WORLD_SIZE", "8"),
            ("GROUP_RANK", "1"),
            ("MASTER_ADDR", "gpu01"),
            ("MASTER_PORT", "29400"),
            ("TORCHELASTIC_RUN_ID", "bench7"),
        ]);
        let p = detect(&none(), &v).unwrap().unwrap();
        assert_eq!(
            p,
            Placement {
                launcher: "torchrun",
                rank: 11,
                world_size: 16,
                local_rank: Some(3),
                master_addr: Some("gpu01".into()),
                master_port: Some(29400),
                rendezvous_port: Some(29400),
                job_id: Some("bench7".into()),
            }
        );
    }

    #[test]
    fn slurm_variables_and_the_first_host() {
        // srun --nodes=5 --ntasks-per-node=4 on gpu[01-04,07]: task 6.
        let v = vars(&[
            ("SLURM_PROCID", "6"),
            ("SLURM_NTASKS", "20"),
            ("SLURM_LOCALID", "2"),
            ("SLURM_NODEID", "1"),
            ("SLURM_JOB_ID", "81234"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_JOB_NODELIST", "gpu[01-04,07]"),
            ("SLURMD_NODENAME", "gpu02"),
        ]);
        let p = detect(&none(), &v).unwrap().unwrap();
        assert_eq!(
            (p.launcher, p.rank, p.world_size, p.local_rank),
            ("slurm", 6, 20, Some(2))
        );
        assert_eq!(p.master_addr.as_deref(), Some("gpu01"));
        assert_eq!(p.master_port, Some(DEFAULT_MASTER_PORT));
        assert_eq!(p.job_id.as_deref(), Some("81234"));
        // An exported MASTER_ADDR (common in sbatch scripts) wins over the node list.
        let mut v2 = v.clone();
        v2.insert("MASTER_ADDR".into(), "10.0.0.5".into());
        assert_eq!(
            detect(&none(), &v2)
                .unwrap()
                .unwrap()
                .master_addr
                .as_deref(),
            Some("10.0.0.5")
        );
        let mut bad = v.clone();
        bad.insert("SLURM_JOB_NODELIST".into(), "gpu[07-01]".into());
        assert!(err(&none(), &bad).starts_with("SLURM_JOB_NODELIST: host list 'gpu[07-01]'"));
    }

    #[test]
    fn torchrun_agent_store_moves_the_rendezvous_port() {
        let v = vars(&[
            ("RANK", "0"),
            ("WORLD_SIZE", "2"),
            ("LOCAL_RANK", "0"),
            ("MASTER_ADDR", "127.0.0.1"),
            ("MASTER_PORT", "29500"),
            ("TORCHELASTIC_USE_AGENT_STORE", "True"),
        ]);
        let p = detect(&none(), &v).unwrap().unwrap();
        assert_eq!(
            (p.master_port, p.rendezvous_port),
            (Some(29500), Some(29501))
        );
        let f = RankOverrides {
            master_port: Some(4000),
            ..none()
        };
        assert_eq!(detect(&f, &v).unwrap().unwrap().rendezvous_port, Some(4000));
    }

    #[test]
    fn torchrun_under_srun_is_read_as_torchrun() {
        let v = vars(&[
            ("SLURM_PROCID", "1"),
            ("SLURM_NTASKS", "2"),
            ("SLURM_LOCALID", "0"),
            ("SLURM_JOB_NODELIST", "n[1-2]"),
            ("RANK", "9"),
            ("WORLD_SIZE", "16"),
            ("LOCAL_RANK", "1"),
            ("MASTER_ADDR", "n1"),
            ("MASTER_PORT", "29500"),
        ]);
        let p = detect(&none(), &v).unwrap().unwrap();
        assert_eq!(
            (p.launcher, p.rank, p.world_size, p.local_rank),
            ("torchrun", 9, 16, Some(1))
        );
    }

    #[test]
    fn open_mpi_and_pmi_variables() {
        // mpirun -np 16 -N 8: rank 10 on the second node.
        let v = vars(&[
            ("OMPI_COMM_WORLD_RANK", "10"),
            ("OMPI_COMM_WORLD_SIZE", "16"),
            ("OMPI_COMM_WORLD_LOCAL_RANK", "2"),
            ("OMPI_COMM_WORLD_LOCAL_SIZE", "8"),
            ("OMPI_COMM_WORLD_NODE_RANK", "2"),
        ]);
        let p = detect(&none(), &v).unwrap().unwrap();
        assert_eq!(
            (p.launcher, p.rank, p.world_size, p.local_rank),
            ("openmpi", 10, 16, Some(2))
        );
        assert_eq!((p.master_addr, p.master_port), (None, None));
        // MPICH / Intel MPI (Hydra).
        let v = vars(&[
            ("PMI_RANK", "3"),
            ("PMI_SIZE", "4"),
            ("MPI_LOCALRANKID", "1"),
        ]);
        let p = detect(&none(), &v).unwrap().unwrap();
        assert_eq!(
            (p.launcher, p.rank, p.world_size, p.local_rank),
            ("pmi", 3, 4, Some(1))
        );
        let v = vars(&[("PMI_RANK", "3"), ("PMI_SIZE", "4")]);
        assert_eq!(detect(&none(), &v).unwrap().unwrap().local_rank, None);
    }

    #[test]
    fn flags_win_field_by_field() {
        let v = vars(&[("RANK", "2"), ("WORLD_SIZE", "4"), ("LOCAL_RANK", "2")]);
        let f = RankOverrides {
            local_rank: Some(0),
            master_addr: Some("127.0.0.1".into()),
            master_port: Some(4000),
            ..none()
        };
        let p = detect(&f, &v).unwrap().unwrap();
        assert_eq!(
            (p.rank, p.local_rank, p.master_port),
            (2, Some(0), Some(4000))
        );
        let f = RankOverrides {
            rank: Some(1),
            world_size: Some(2),
            ..none()
        };
        let p = detect(&f, &Vars::new()).unwrap().unwrap();
        assert_eq!(
            (p.launcher, p.rank, p.world_size, p.local_rank),
            ("flags", 1, 2, None)
        );
    }

    #[test]
    fn partial_and_contradictory_settings_name_what_is_wrong() {
        let e = err(&none(), &vars(&[("RANK", "1")]));
        assert!(
            e.contains("torchrun variables are incomplete: RANK is set but WORLD_SIZE is not"),
            "{e}"
        );
        let e = err(&none(), &vars(&[("SLURM_NTASKS", "8")]));
        assert!(
            e.contains("SLURM_NTASKS is set but SLURM_PROCID is not"),
            "{e}"
        );
        let e = err(&none(), &vars(&[("RANK", "4"), ("WORLD_SIZE", "4")]));
        assert!(e.contains("RANK 4 is not below WORLD_SIZE 4"), "{e}");
        let e = err(
            &none(),
            &vars(&[("RANK", "1"), ("WORLD_SIZE", "4"), ("LOCAL_RANK", "4")]),
        );
        assert!(e.contains("LOCAL_RANK 4 is not below WORLD_SIZE 4"), "{e}");
        let e = err(&none(), &vars(&[("RANK", "x"), ("WORLD_SIZE", "4")]));
        assert!(e.starts_with("RANK=\"x\" is not a whole number"), "{e}");
        let e = err(&none(), &vars(&[("PMI_RANK", "0"), ("PMI_SIZE", "0")]));
        assert!(e.contains("PMI_SIZE is 0"), "{e}");
        let e = err(
            &none(),
            &vars(&[("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_PORT", "70000")]),
        );
        assert!(e.starts_with("MASTER_PORT=\"70000\""), "{e}");
        let f = RankOverrides {
            rank: Some(5),
            ..none()
        };
        assert!(err(&f, &Vars::new()).contains("--rank given without --world-size"));
        let f = RankOverrides {
            rank: Some(5),
            ..none()
        };
        let e = err(&f, &vars(&[("RANK", "1"), ("WORLD_SIZE", "4")]));
        assert!(e.contains("--rank 5 is not below WORLD_SIZE 4"), "{e}");
        let f = RankOverrides {
            master_port: Some(1),
            ..none()
        };
        assert!(err(&f, &Vars::new()).contains("but no rank"));
    }

    #[test]
    fn the_local_gpu_rule() {
        assert_eq!(local_gpu(Some(3), None).unwrap().0, Some(3));
        // srun --gpus-per-task=1: each task sees one device, whatever its local rank.
        let (d, rule) = local_gpu(Some(5), Some("5")).unwrap();
        assert_eq!(d, Some(0));
        assert!(rule.contains("the one device"), "{rule}");
        assert_eq!(
            local_gpu(Some(1), Some("GPU-aa,GPU-bb")).unwrap().0,
            Some(1)
        );
        assert_eq!(local_gpu(Some(2), Some("4,5,6,7")).unwrap().0, Some(2));
        let e = local_gpu(Some(2), Some("4,5")).unwrap_err().to_string();
        assert!(e.contains("lists 2 devices"), "{e}");
        assert_eq!(local_gpu(Some(0), Some("")).unwrap().0, None);
        assert_eq!(local_gpu(Some(0), Some("-1")).unwrap().0, None);
        assert_eq!(local_gpu(None, Some("3,4")).unwrap().0, Some(0));
    }
}
