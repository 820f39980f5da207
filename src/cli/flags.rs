//! Flag groups and value parsers shared by the measuring commands (`#[command(flatten)]`):
//! timing, saving, and the parsers of `--device`, `--seed` and dimensions. Clap only: each
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
}
