//! Flag groups and value parsers shared by several commands (`#[command(flatten)]`): timing,
//! saving, a rank of a job, the model, and the parsers of `--device`, `--seed` and dimensions. Clap only: each
//! group turns into library settings here ([`TimingFlags::resolve_with`],
//! [`SaveFlags::target`]) and no library code reads a flag.

use crate::error::usage;
use crate::profile::TimingSettings;

/// Timing flags, shared by `run`, `sweep` and `calibrate` (`#[command(flatten)]`).
/// Unset flags take the backend's defaults ([`TimingFlags::resolve`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TimingFlags {
    /// Warm-up lasts at least this many products [run: GPU 10, CPU 2; sweep and calibrate: fewer].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=MAX_COUNT))]
    pub warmup_iters: Option<u64>,
    /// …and at least this many seconds, so clocks settle [run: GPU 1.0, CPU 0.2; at most 3600];
    /// capped at 10×.
    #[arg(long, value_name = "SECONDS", value_parser = parse_secs)]
    pub warmup_time: Option<f64>,
    /// Timing lasts at least this many products [run: GPU 50, CPU 10; sweep and calibrate: fewer].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_COUNT))]
    pub iters: Option<u64>,
    /// …and at least this many seconds [run: GPU 1.0, CPU 0.5; at most 3600].
    #[arg(long, value_name = "SECONDS", value_parser = parse_secs)]
    pub min_time: Option<f64>,
    /// …and at most this many products [100000; raised to --iters when only --iters is given;
    /// --iters above an explicit --max-iters is an error].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_COUNT))]
    pub max_iters: Option<u64>,
    /// Rotate input sets totalling at least 3× the L2 cache so no product reads from cache.
    #[arg(long)]
    pub cold: bool,
    /// Output elements verified against an f64 host reference [256].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub verify_points: Option<u64>,
}

/// The most products a count flag accepts (ten million: hours of work at any size).
const MAX_COUNT: u64 = 10_000_000;

/// The longest warm-up or timing minimum accepted (an hour); longer runs use `--duration`.
const MAX_SECS: f64 = 3600.0;

fn parse_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds; give e.g. 1.5"))?;
    if !v.is_finite() || !(0.0..=MAX_SECS).contains(&v) {
        return Err(format!(
            "'{s}' must be from 0 to {MAX_SECS:.0} seconds; for longer runs use --duration"
        ));
    }
    Ok(v)
}

/// clap value parser for `--seed`: any whole number a u64 holds.
pub fn seed_flag(s: &str) -> Result<u64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("give a whole number from 0 to {}", u64::MAX))
}

/// clap value parser for `--device` (`auto`, `cpu`, `cuda`, `cuda:N`).
pub fn device_flag(s: &str) -> Result<crate::backend::DeviceChoice, String> {
    s.parse::<crate::backend::DeviceChoice>()
        .map_err(|e| e.to_string())
}

/// clap value parser for a matrix or model dimension ([`crate::units::parse_dim`]; clap
/// names the flag in its message).
pub fn dim_flag(s: &str) -> Result<u64, String> {
    crate::units::parse_dim(s).map_err(|e| e.to_string())
}

/// clap value parser for `--dtype`: a comma-separated list or `all`.
pub fn dtypes_flag(s: &str) -> Result<crate::dtype::DtypeSelection, String> {
    s.parse().map_err(|e: anyhow::Error| e.to_string())
}

/// The model a planning command works on: a preset or a Hugging Face config.json, never both
/// (`#[command(flatten)]`). A command that takes more from the model words its own help with
/// `#[command(mut_args(arg_mut("model", ...)))]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ModelFlags {
    /// A model preset (see 'gpubench models').
    #[arg(
        id = "model",
        long = "model",
        value_name = "NAME",
        conflicts_with = "model_config"
    )]
    pub name: Option<String>,
    /// A Hugging Face config.json.
    #[arg(id = "model_config", long = "model-config", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
}

/// Changes the one argument `id` of a command whose flags come from a shared group (its help,
/// whether it is required), in place: `#[command(mut_args(arg_mut("model", |a| a.help(..))))]`.
/// (clap's own `mut_arg` moves the argument last, which reorders the completions.)
pub fn arg_mut(
    id: &'static str,
    f: fn(clap::Arg) -> clap::Arg,
) -> impl FnMut(clap::Arg) -> clap::Arg {
    move |a| if a.get_id() == id { f(a) } else { a }
}

/// Where a measuring command saves its file (`run`, `calibrate`; `#[command(flatten)]`).
#[derive(Debug, Clone, clap::Args)]
pub struct SaveFlags {
    /// Save here instead of an automatically named file in --results-dir.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub out: Option<std::path::PathBuf>,
    /// Folder for automatically named files (named after device, dtypes, size or model, date).
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: std::path::PathBuf,
    /// Replace the --out file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Do not save anything.
    #[arg(long, conflicts_with_all = ["out", "force"])]
    pub no_save: bool,
}

impl SaveFlags {
    /// Where to save, for a rank of a job ([`crate::cluster::RankRun::prepare`]).
    pub fn request(&self) -> crate::cluster::SaveRequest<'_> {
        crate::cluster::SaveRequest {
            out: self.out.as_deref(),
            results_dir: &self.results_dir,
            force: self.force,
            no_save: self.no_save,
        }
    }

    /// The checked target (before anything is measured), or `None` with `--no-save`.
    pub fn target(&self) -> anyhow::Result<Option<crate::profile::OutputTarget>> {
        if self.no_save {
            return Ok(None);
        }
        crate::profile::OutputTarget::check(self.out.clone(), &self.results_dir, self.force)
            .map(Some)
    }
}

/// Per-backend defaults for unset timing flags: (warm-up products, warm-up seconds, timed
/// products, timed seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimingDefaults {
    pub gpu: (u64, f64, u64, f64),
    pub cpu: (u64, f64, u64, f64),
}

impl TimingDefaults {
    /// `gpubench run`: long enough for clocks to settle and a stable median.
    pub const RUN: TimingDefaults = TimingDefaults {
        gpu: (10, 1.0, 50, 1.0),
        cpu: (2, 0.2, 10, 0.5),
    };
    /// `gpubench sweep`: hundreds of points, so shorter per point.
    pub const SWEEP: TimingDefaults = TimingDefaults {
        gpu: (3, 0.1, 10, 0.2),
        cpu: (1, 0.02, 3, 0.05),
    };
    /// `gpubench calibrate`: a few dozen distinct shapes.
    pub const CALIBRATE: TimingDefaults = TimingDefaults {
        gpu: (3, 0.2, 20, 0.3),
        cpu: (1, 0.02, 3, 0.05),
    };
}

impl TimingFlags {
    /// Refuses flags that contradict each other (checked before any device is opened).
    pub fn check(&self) -> anyhow::Result<()> {
        if let (Some(i), Some(m)) = (self.iters, self.max_iters) {
            if i > m {
                return Err(usage(format!(
                    "--iters {i} is more than --max-iters {m}: --iters is the least and --max-iters the most products timed; raise --max-iters or lower --iters"
                )));
            }
        }
        Ok(())
    }

    /// The settings for `gpubench run` on a backend (`cpu` or `cuda`), defaults filled in.
    pub fn resolve(&self, backend: crate::backend::BackendKind) -> TimingSettings {
        self.resolve_with(
            backend == crate::backend::BackendKind::Cpu,
            TimingDefaults::RUN,
        )
    }

    /// The settings with a command's own defaults for unset flags.
    pub fn resolve_with(&self, cpu: bool, defaults: TimingDefaults) -> TimingSettings {
        let (warmup_iters, warmup_secs, min_iters, min_secs) =
            if cpu { defaults.cpu } else { defaults.gpu };
        let min_iters = self.iters.unwrap_or(min_iters) as usize;
        let max_iters = (self.max_iters.unwrap_or(100_000) as usize).max(min_iters);
        TimingSettings {
            warmup_iters: self.warmup_iters.unwrap_or(warmup_iters) as usize,
            warmup_secs: self.warmup_time.unwrap_or(warmup_secs),
            min_iters,
            min_secs: self.min_time.unwrap_or(min_secs),
            max_iters,
            cold: self.cold,
            verify_points: self.verify_points.unwrap_or(256) as usize,
        }
    }
}

/// `run`'s flags for a rank of a job (`#[command(flatten)]`); unset ones come from the
/// launcher's variables ([`crate::cluster::RankOptions`]).
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
    pub rendezvous: Option<crate::cluster::RendezvousFlag>,
    /// Give up waiting for the other ranks after this many seconds, naming the missing ones.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0, value_parser = timeout_flag)]
    pub rendezvous_timeout: f64,
}

impl ClusterFlags {
    /// The typed options a rank is prepared with.
    pub fn options(&self) -> crate::cluster::RankOptions {
        crate::cluster::RankOptions {
            overrides: crate::cluster::RankOverrides {
                rank: self.rank,
                world_size: self.world_size,
                local_rank: self.local_rank,
                master_addr: self.master_addr.clone(),
                master_port: self.master_port,
            },
            rendezvous: self.rendezvous.clone(),
            rendezvous_timeout_s: self.rendezvous_timeout,
        }
    }
}

fn rendezvous_flag(s: &str) -> Result<crate::cluster::RendezvousFlag, String> {
    use crate::cluster::RendezvousFlag;
    let t = s.trim();
    if t.eq_ignore_ascii_case("tcp") {
        return Ok(RendezvousFlag::Tcp);
    }
    match t.strip_prefix("file:") {
        Some(d) if !d.is_empty() => Ok(RendezvousFlag::File(std::path::PathBuf::from(d))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_differ_by_backend() {
        let f = TimingFlags::default();
        let g = f.resolve(crate::backend::BackendKind::Cuda);
        let c = f.resolve(crate::backend::BackendKind::Cpu);
        assert_eq!((g.min_iters, g.warmup_iters), (50, 10));
        assert_eq!((c.min_iters, c.warmup_iters), (10, 2));
        let f = TimingFlags {
            iters: Some(500),
            max_iters: Some(10),
            ..Default::default()
        };
        assert_eq!(f.resolve(crate::backend::BackendKind::Cuda).max_iters, 500);
    }

    #[test]
    fn model_flags_keep_each_commands_help_and_place() {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        let args = |cmd: &str| -> Vec<clap::Arg> {
            cli.find_subcommand(cmd)
                .unwrap()
                .get_arguments()
                .cloned()
                .collect()
        };
        let help = |cmd: &str, id: &str| -> String {
            let a = args(cmd).into_iter().find(|a| a.get_id() == id).unwrap();
            a.get_help().unwrap().to_string()
        };
        assert_eq!(
            help("estimate", "model"),
            "A model preset (see 'gpubench models'): fills --params, --tokens and the architecture"
        );
        assert_eq!(
            help("estimate", "model_config"),
            "A Hugging Face config.json: the parameter count and architecture are computed from it"
        );
        assert_eq!(
            help("memory", "model"),
            "A model preset ('gpubench models'): parameters and architecture (for activations)"
        );
        assert_eq!(help("memory", "model_config"), "A Hugging Face config.json");
        assert_eq!(
            help("calibrate", "model"),
            "A model preset (see 'gpubench models')"
        );
        assert_eq!(
            help("calibrate", "model_config"),
            "A Hugging Face config.json (LLaMA- or GPT-2-style keys)"
        );
        // Reworded in place: the flags keep their order (help, completions).
        let first = |cmd: &str, n: usize| -> Vec<String> {
            args(cmd)
                .iter()
                .take(n)
                .map(|a| a.get_id().to_string())
                .collect()
        };
        for cmd in ["estimate", "memory", "plan", "calibrate"] {
            assert_eq!(first(cmd, 2), ["model", "model_config"], "{cmd}");
        }
        assert_eq!(first("scale", 3), ["params", "model", "model_config"]);
        // Only plan requires a model, and either flag gives one.
        let plan = |extra: &[&str]| {
            let base = ["gpubench", "plan", "--gpus", "8", "--global-batch", "8"];
            crate::cli::parse_from(base.iter().chain(extra)).is_ok()
        };
        assert!(!plan(&[]));
        assert!(plan(&["--model", "gpt2"]));
        assert!(plan(&["--model-config", "config.json"]));
        assert!(crate::cli::parse_from(["gpubench", "memory"]).is_ok());
    }

    #[test]
    fn arg_mut_changes_only_the_named_argument() {
        let mut f = arg_mut("b", |a| a.help("changed"));
        let a = f(clap::Arg::new("a").help("kept"));
        let b = f(clap::Arg::new("b").help("old"));
        assert_eq!(a.get_help().unwrap().to_string(), "kept");
        assert_eq!(b.get_help().unwrap().to_string(), "changed");
    }

    #[test]
    fn rendezvous_and_timeout_flags() {
        assert_eq!(
            rendezvous_flag("tcp"),
            Ok(crate::cluster::RendezvousFlag::Tcp)
        );
        assert_eq!(
            rendezvous_flag(" TCP "),
            Ok(crate::cluster::RendezvousFlag::Tcp)
        );
        assert_eq!(
            rendezvous_flag("file:/shared/rdv"),
            Ok(crate::cluster::RendezvousFlag::File("/shared/rdv".into()))
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
