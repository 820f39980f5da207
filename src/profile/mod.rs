//! The profile: what one `gpubench run` (or sweep) measured, as versioned JSON, so a
//! measurement can be shown, compared, plotted and planned with later.
//!
//! The schema is typed throughout (telemetry, algorithm search, cluster section included) and
//! sits low in the layers: it imports the backend's [`DeviceInfo`] and [`HostInfo`], the peaks
//! and [`crate::stats`], never the code that measures, samples or sweeps (which imports it).
//!
//! Saving is atomic (a temporary file in the target folder, flushed, then renamed into place
//! without replacing an existing file); loading checks the schema version and names the file
//! and the problem on any error.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::backend::HostInfo;
use crate::backend::{DeviceInfo, GemmApi, GemmShape};
use crate::dtype::DType;
use crate::error::usage;
use crate::peak::PeakInfo;
use crate::stats::Stats;

mod cluster;
mod io;
mod search;
mod telemetry;
pub mod validate;
pub use cluster::ClusterInfo;
pub use io::{check_output_file, write_atomic};
pub use search::{AlgoCandidate, AlgoSearch};
pub use telemetry::{Telemetry, TimelinePoint};

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
    /// `run`, `sweep` or `sustained` (`run` when absent).
    #[serde(default)]
    pub kind: ProfileKind,
    pub host: HostInfo,
    pub device: DeviceInfo,
    pub settings: TimingSettings,
    pub results: Vec<GemmResult>,
    /// Set when the run was interrupted and the results are the points done so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<bool>,
    /// How many results the command set out to measure. A file saved while the command was
    /// still running (or left by a killed process) holds fewer, and says so on loading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_results: Option<u32>,
    /// Set when the profile is one rank's of a job (srun, mpirun, torchrun): which rank, of
    /// how many, on which host (docs/cluster.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
}

/// Which command wrote a profile, as the `kind` field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    /// `gpubench run`: each shape and dtype measured once.
    #[default]
    Run,
    /// `gpubench sweep`: a range of shapes, with the algorithm search.
    Sweep,
    /// `gpubench run --duration`: throughput, clock and power over time.
    Sustained,
}

impl ProfileKind {
    /// The name the profile stores (`run`, `sweep`, `sustained`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileKind::Run => "run",
            ProfileKind::Sweep => "sweep",
            ProfileKind::Sustained => "sustained",
        }
    }
}

impl std::fmt::Display for ProfileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// Clocks, power and temperature while the result was timed (GPU runs with NVML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<Telemetry>,
    /// The algorithm search that chose this result (sweeps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algo_search: Option<AlgoSearch>,
    /// The GPU that measured this result, in a profile of every GPU of a node
    /// (`run --device all`); absent where the profile's device measured every result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<ResultGpu>,
}

/// Which GPU of a node measured a result (`run --device all`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultGpu {
    /// CUDA ordinal.
    pub ordinal: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Its PCI address (`00000000:18:00.0`), as `nvidia-smi` prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_bus_id: Option<String>,
}

fn one() -> u64 {
    1
}

/// The outcome of checking a sample of C.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Number of (i, j) elements checked.
    pub checked: usize,
    /// Largest |c − ref| / Σₖ|aᵢₖ·bₖⱼ| over the sample (the error relative to the magnitude of
    /// the terms summed, which stays meaningful when c is near zero).
    pub max_rel_error: f64,
    /// Largest |c − ref|.
    pub max_abs_error: f64,
    /// The tolerance for this dtype.
    pub tolerance: f64,
    /// Whether every element was within tolerance (and finite).
    pub passed: bool,
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
    /// `None` for a complete profile; otherwise why it is not, in a few words
    /// ("interrupted after 6 of 8 planned results").
    pub fn incomplete(&self) -> Option<String> {
        let done = self.results.len();
        let planned = self.planned_results.map(|p| p as usize);
        let of = match planned {
            Some(p) => format!("{done} of {p} planned results"),
            None => format!("{done} results"),
        };
        if self.interrupted == Some(true) {
            return Some(format!("interrupted after {of}"));
        }
        match planned {
            Some(p) if done < p => Some(format!(
                "incomplete: {of} (the command stopped or was killed before it finished)"
            )),
            _ => None,
        }
    }

    /// Serializes to pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a profile always serializes")
    }

    /// Parses and validates a profile from JSON text; `origin` names the file in errors.
    /// A UTF-8 byte order mark is accepted; text fields are cleaned of terminal controls
    /// ([`validate::sanitize`]); a calibration file is named as such, with the command that
    /// reads it.
    pub fn from_json(text: &str, origin: &str) -> anyhow::Result<Profile> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            usage(format!(
                "{origin}: not a gpubench profile (invalid JSON: {e})"
            ))
        })?;
        if value.get("kind").and_then(|k| k.as_str()) == Some("calibration") {
            return Err(usage(format!(
                "{origin}: is a gpubench calibration (from 'gpubench calibrate'), not a measured profile; read it with 'gpubench estimate --calibration {origin}'"
            )));
        }
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
        validate::sanitize(&mut value);
        let profile = match Profile::deserialize(&value) {
            Ok(p) => p,
            Err(e) => {
                let at = validate::locate(&value).unwrap_or_else(|| e.to_string());
                return Err(usage(format!("{origin}: malformed profile: {at}")));
            }
        };
        validate::check(&profile).map_err(|e| usage(format!("{origin}: invalid profile: {e}")))?;
        Ok(profile)
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
            self.kind,
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
    kind: ProfileKind,
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
    let kind = if kind == ProfileKind::Run {
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
    /// Validates the target before anything is measured: an explicit `--out` through
    /// [`check_output_file`]; otherwise the `--results-dir` folder exists (or is created) and
    /// is writable.
    pub fn check(
        explicit: Option<PathBuf>,
        default_dir: &Path,
        force: bool,
    ) -> anyhow::Result<Self> {
        if let Some(p) = explicit {
            let p = check_output_file("--out", &p, force)?;
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            return Ok(OutputTarget {
                explicit: Some(p),
                dir,
                force,
            });
        }
        if let Ok(meta) = std::fs::symlink_metadata(default_dir) {
            if !default_dir.is_dir() {
                let kind = if meta.file_type().is_symlink() {
                    "a symbolic link to no folder"
                } else {
                    "not a folder"
                };
                return Err(usage(format!(
                    "--results-dir {}: is {kind}; give a folder, or --out PATH",
                    default_dir.display()
                )));
            }
        }
        std::fs::create_dir_all(default_dir).map_err(|e| {
            usage(format!(
                "--results-dir {}: cannot create it ({e}); give a writable --results-dir or --out PATH",
                default_dir.display()
            ))
        })?;
        io::check_writable_dir(default_dir).map_err(|e| {
            usage(format!(
                "--results-dir {}: cannot write in it ({e}); give a writable --results-dir or --out PATH",
                default_dir.display()
            ))
        })?;
        Ok(OutputTarget {
            explicit: None,
            dir: default_dir.to_path_buf(),
            force,
        })
    }

    /// The path a profile would be saved to (automatic names get `-2`, `-3`… when taken).
    pub fn path_for(&self, profile: &Profile) -> PathBuf {
        self.path_named(&profile.default_file_name())
    }

    /// The path for an automatic file `name` (or the explicit `--out`): the first of `name`,
    /// `name-2`, `name-3`… that does not exist yet.
    pub fn path_named(&self, name: &str) -> PathBuf {
        if let Some(p) = &self.explicit {
            return p.clone();
        }
        let mut path = self.dir.join(name);
        let stem = name.trim_end_matches(".json").to_string();
        let mut i = 2;
        while std::fs::symlink_metadata(&path).is_ok() {
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
    /// file after every dtype it will measure, before the first is done). An automatic name
    /// is never replaced: when another process takes it first, the next free suffix is used,
    /// so two runs saving into one folder at the same moment keep both results.
    pub fn save_named(
        &self,
        profile: &Profile,
        name: &str,
        previous: Option<&Path>,
    ) -> anyhow::Result<PathBuf> {
        let bytes = profile.to_json();
        if let Some(p) = previous {
            write_atomic(p, bytes.as_bytes(), true)?;
            return Ok(p.to_path_buf());
        }
        self.save_bytes(name, bytes.as_bytes())
    }

    /// Writes `bytes` to the explicit `--out` (replacing it only with `--force`) or to the
    /// first free automatic name derived from `name`, and returns the path.
    pub fn save_bytes(&self, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.explicit {
            write_atomic(p, bytes, self.force)?;
            return Ok(p.clone());
        }
        loop {
            let path = self.path_named(name);
            if io::write_file(&path, bytes, false)? == io::Written::Yes {
                return Ok(path);
            }
        }
    }
}

/// Current time as RFC 3339 UTC with seconds.
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
