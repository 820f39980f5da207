//! The profile: what one `gpubench run` (or sweep) measured, as versioned JSON, so a
//! measurement can be shown, compared, plotted and planned with later.
//!
//! Saving is atomic (a temporary file in the target folder, flushed, then renamed into place
//! without replacing an existing file); loading checks the schema version and names the file
//! and the problem on any error.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::backend::{DeviceInfo, GemmApi, GemmShape};
use crate::dtype::DType;
use crate::error::usage;
use crate::measure::stats::Stats;
use crate::measure::verify::Verification;
use crate::peak::PeakInfo;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A saved measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub schema_version: u32,
    pub tool: ToolInfo,
    /// When the run started (RFC 3339, UTC).
    pub created_utc: String,
    /// The command line that produced it.
    #[serde(default)]
    pub command: Vec<String>,
    /// `run`, `sweep` or `sustained`.
    #[serde(default = "default_kind")]
    pub kind: String,
    pub host: HostInfo,
    pub device: DeviceInfo,
    pub settings: TimingSettings,
    pub results: Vec<GemmResult>,
    /// Set when the run was interrupted and the results are the points done so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<bool>,
}

fn default_kind() -> String {
    "run".into()
}

/// The program that wrote a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl ToolInfo {
    /// This build.
    pub fn current() -> Self {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The host machine (from sysinfo).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: Option<String>,
    pub cpu_model: String,
    pub cpu_physical_cores: Option<u32>,
    pub cpu_logical_cores: u32,
    pub memory_bytes: u64,
    pub os: String,
}

impl HostInfo {
    /// Reads the host's CPU, memory and OS.
    pub fn detect() -> Self {
        use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
        let sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let cpu_model = sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown CPU".into());
        HostInfo {
            hostname: System::host_name(),
            cpu_model,
            cpu_physical_cores: System::physical_core_count().map(|c| c as u32),
            cpu_logical_cores: sys.cpus().len().max(1) as u32,
            memory_bytes: sys.total_memory(),
            os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.into()),
        }
    }
}

/// How the timing loop was configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimingSettings {
    /// Warm-up lasts at least this many products…
    pub warmup_iters: usize,
    /// …and at least this many seconds (capped at 10× this).
    pub warmup_secs: f64,
    /// Timing lasts at least this many products…
    pub min_iters: usize,
    /// …and at least this many seconds…
    pub min_secs: f64,
    /// …and at most this many products.
    pub max_iters: usize,
    /// Whether inputs rotate through sets larger than the L2 cache.
    pub cold: bool,
    /// Number of output elements verified.
    pub verify_points: usize,
}

/// Warm-up actually done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupRecord {
    pub iterations: usize,
    pub seconds: f64,
}

/// One measured GEMM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GemmResult {
    pub dtype: DType,
    pub m: u64,
    pub n: u64,
    pub k: u64,
    #[serde(default = "one")]
    pub batch: u64,
    /// API, compute type, accumulator, algorithm.
    #[serde(flatten)]
    pub api: GemmApi,
    /// Input sets rotated through (1 = hot).
    pub input_sets: u32,
    pub warmup: WarmupRecord,
    /// Every timed sample, seconds per product.
    pub samples_s: Vec<f64>,
    /// Statistics of the samples (seconds).
    pub stats_s: Stats,
    /// 2·m·n·k·batch / median time / 1e12.
    pub tflops: f64,
    /// From the fastest sample.
    pub tflops_max: f64,
    /// From the slowest sample.
    pub tflops_min: f64,
    pub peak: PeakInfo,
    /// measured / reference peak (see `peak.efficiency_basis`).
    pub efficiency: Option<f64>,
    pub verification: Verification,
    /// Telemetry and algorithm search results (sweeps, sustained runs), free-form JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algo_search: Option<serde_json::Value>,
}

fn one() -> u64 {
    1
}

impl GemmResult {
    /// The shape measured.
    pub fn shape(&self) -> GemmShape {
        GemmShape {
            m: self.m,
            n: self.n,
            k: self.k,
            batch: self.batch,
        }
    }

    /// Whether the result passed verification.
    pub fn valid(&self) -> bool {
        self.verification.passed
    }
}

impl Profile {
    /// Serializes to pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a profile always serializes")
    }

    /// Parses a profile from JSON text; `origin` names the file in errors.
    pub fn from_json(text: &str, origin: &str) -> anyhow::Result<Profile> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            usage(format!(
                "{origin}: not a gpubench profile (invalid JSON: {e})"
            ))
        })?;
        let version = value.get("schema_version").ok_or_else(|| {
            usage(format!(
                "{origin}: not a gpubench profile (no schema_version)"
            ))
        })?;
        match version.as_u64() {
            Some(v) if v == SCHEMA_VERSION as u64 => {}
            Some(v) => {
                return Err(usage(format!(
                    "{origin}: profile schema version {v} is not supported by gpubench {} (it reads version {SCHEMA_VERSION}); use a matching gpubench",
                    env!("CARGO_PKG_VERSION")
                )))
            }
            None => {
                return Err(usage(format!(
                    "{origin}: schema_version must be a whole number, found {version}"
                )))
            }
        }
        serde_json::from_value(value)
            .map_err(|e| usage(format!("{origin}: malformed profile: {e}")))
    }

    /// Loads a profile file.
    pub fn load(path: &Path) -> anyhow::Result<Profile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("{}: cannot read profile: {e}", path.display())))?;
        Profile::from_json(&text, &path.display().to_string())
    }

    /// A file name that says what the profile is: device, dtypes, shape, date.
    pub fn default_file_name(&self) -> String {
        let dtypes: Vec<DType> = self.results.iter().map(|r| r.dtype).collect();
        let shapes: Vec<GemmShape> = self.results.iter().map(|r| r.shape()).collect();
        default_file_name(
            &self.device.slug(),
            &self.kind,
            &dtypes,
            &shapes,
            &self.created_utc,
        )
    }
}

/// `<device>_[<kind>_]<dtypes>_<size>_<yyyymmdd-hhmmss>.json`, e.g.
/// `h100-sxm_fp16-bf16_n16384_20261123-233759.json`. `size` is `n16384` for one square
/// shape, `MxNxK` for one other shape, `<count>shapes` for several.
pub fn default_file_name(
    device_slug: &str,
    kind: &str,
    dtypes: &[DType],
    shapes: &[GemmShape],
    created_utc: &str,
) -> String {
    let mut names: Vec<&str> = Vec::new();
    for d in dtypes {
        if !names.contains(&d.name()) {
            names.push(d.name());
        }
    }
    let mut distinct: Vec<GemmShape> = Vec::new();
    for s in shapes {
        if !distinct.contains(s) {
            distinct.push(*s);
        }
    }
    let size = match distinct.as_slice() {
        [] => "empty".to_string(),
        [s] if s.is_square() => format!("n{}", s.n),
        [s] => format!("{}x{}x{}", s.m, s.n, s.k),
        many => format!("{}shapes", many.len()),
    };
    let stamp = created_utc
        .get(..19)
        .unwrap_or(created_utc)
        .replace([':', '-'], "")
        .replace('T', "-");
    let kind = if kind == "run" {
        String::new()
    } else {
        format!("{kind}_")
    };
    format!(
        "{device_slug}_{kind}{}_{size}_{stamp}.json",
        names.join("-")
    )
}

/// Where a profile will be written, checked before measuring so that a bad `--out` fails
/// early (exit 2) and no time is wasted.
#[derive(Debug, Clone)]
pub struct OutputTarget {
    /// Explicit `--out` path, or `None` for an automatic name in `dir`.
    pub explicit: Option<PathBuf>,
    pub dir: PathBuf,
    /// Replace an existing file (only with `--force`).
    pub force: bool,
}

impl OutputTarget {
    /// Validates the target: the folder exists (or can be created, for `results/`) and is
    /// writable, and an explicit file does not exist unless `force`.
    pub fn check(
        explicit: Option<PathBuf>,
        default_dir: &Path,
        force: bool,
    ) -> anyhow::Result<Self> {
        let dir = match &explicit {
            Some(p) => {
                if p.is_dir() {
                    return Err(usage(format!(
                        "--out {}: is a folder; give a file path such as {}/profile.json",
                        p.display(),
                        p.display()
                    )));
                }
                if p.exists() && !force {
                    return Err(usage(format!(
                        "--out {}: file exists; choose another path or pass --force to replace it",
                        p.display()
                    )));
                }
                match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                }
            }
            None => {
                std::fs::create_dir_all(default_dir).map_err(|e| {
                    usage(format!(
                        "cannot create {}: {e}; pass --out PATH to save elsewhere",
                        default_dir.display()
                    ))
                })?;
                default_dir.to_path_buf()
            }
        };
        if !dir.is_dir() {
            return Err(usage(format!(
                "--out: folder {} does not exist; create it or choose another path",
                dir.display()
            )));
        }
        // Prove the folder is writable with a temporary file that is removed at once.
        tempfile::Builder::new()
            .prefix(".gpubench-check")
            .tempfile_in(&dir)
            .map_err(|e| {
                usage(format!(
                    "cannot write to {}: {e}; choose a writable --out",
                    dir.display()
                ))
            })?;
        Ok(OutputTarget {
            explicit,
            dir,
            force,
        })
    }

    /// The path a profile would be saved to (automatic names get `-2`, `-3`… when taken).
    pub fn path_for(&self, profile: &Profile) -> PathBuf {
        self.path_named(&profile.default_file_name())
    }

    /// The path for an automatic file `name` (or the explicit `--out`).
    pub fn path_named(&self, name: &str) -> PathBuf {
        if let Some(p) = &self.explicit {
            return p.clone();
        }
        let mut path = self.dir.join(name);
        let stem = name.trim_end_matches(".json").to_string();
        let mut i = 2;
        while path.exists() {
            path = self.dir.join(format!("{stem}-{i}.json"));
            i += 1;
        }
        path
    }

    /// Saves atomically and returns the path. Re-saving the same run (a sweep saving after
    /// every point) passes the path returned the first time as `previous`.
    pub fn save(&self, profile: &Profile, previous: Option<&Path>) -> anyhow::Result<PathBuf> {
        self.save_named(profile, &profile.default_file_name(), previous)
    }

    /// [`save`](Self::save) under an automatic name chosen by the caller (a run names the
    /// file after every dtype it will measure, before the first is done).
    pub fn save_named(
        &self,
        profile: &Profile,
        name: &str,
        previous: Option<&Path>,
    ) -> anyhow::Result<PathBuf> {
        match previous {
            Some(p) => {
                write_atomic(p, profile.to_json().as_bytes(), true)?;
                Ok(p.to_path_buf())
            }
            None => {
                let path = self.path_named(name);
                write_atomic(&path, profile.to_json().as_bytes(), self.force)?;
                Ok(path)
            }
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, flushed to disk,
/// then renamed. Without `replace`, fails if `path` exists (never overwrites silently).
/// On any error no partial file is left behind.
pub fn write_atomic(path: &Path, bytes: &[u8], replace: bool) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".gpubench-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write to {}", dir.display()))?;
    // tempfile creates files readable by their owner only; a profile is a shareable result.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    if replace {
        tmp.persist(path)
            .map_err(|e| anyhow::anyhow!("saving {}: {}", path.display(), e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                usage(format!(
                    "{} exists; choose another path or pass --force to replace it",
                    path.display()
                ))
            } else {
                anyhow::anyhow!("saving {}: {}", path.display(), e.error)
            }
        })?;
    }
    Ok(())
}

/// Current time as RFC 3339 UTC with seconds.
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
