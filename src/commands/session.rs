//! One measuring session, the part `run`, `sweep` and `calibrate` share between their flags
//! and their output: the open backend with its dtypes and timing settings, the memory check
//! before anything is allocated, the telemetry sampler, the profile and its file name,
//! saving after every item, Ctrl-C, and the exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use crate::backend::{Backend, GemmShape};
use crate::dtype::{DType, DtypeSelection};
use crate::error::InvalidResult;
use crate::measure::interrupt::{self, EXIT_INTERRUPTED};
use crate::measure::setup;
use crate::profile::OutputTarget;
use crate::profile::{Profile, TimingSettings};
use crate::telemetry::{self, Sampler};

/// Opens the device `--device` names (for one rank of a job, the rank's device) and picks the dtypes `--dtype` asks for
/// ([`resolve_dtypes`](crate::measure::setup::resolve_dtypes)), printing the one-line notices (CPU fallback, skipped dtypes).
pub fn open_backend(
    device: crate::backend::DeviceChoice,
    dtype: Option<&DtypeSelection>,
    rank: Option<&crate::cluster::RankRun>,
) -> anyhow::Result<(Box<dyn Backend>, Vec<DType>)> {
    let (backend, notice) = match rank {
        Some(rr) => rr.open(device)?,
        None => crate::backend::open(device)?,
    };
    if let Some(n) = notice {
        eprintln!("{n}");
    }
    let (dtypes, notice) = crate::measure::setup::resolve_dtypes(dtype, backend.as_ref())?;
    if let Some(n) = notice {
        eprintln!("{n}");
    }
    Ok((backend, dtypes))
}

/// An open backend, the dtypes to measure on it and the timing settings.
pub struct MeasureSession {
    backend: Box<dyn Backend>,
    pub dtypes: Vec<DType>,
    pub settings: TimingSettings,
}

impl MeasureSession {
    /// A session on an opened backend; `settings(cpu)` picks the timing settings for it.
    pub fn new(
        backend: Box<dyn Backend>,
        dtypes: Vec<DType>,
        settings: impl FnOnce(bool) -> TimingSettings,
    ) -> Self {
        let settings = settings(backend.info().backend == crate::backend::BackendKind::Cpu);
        MeasureSession {
            backend,
            dtypes,
            settings,
        }
    }

    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Whether the backend is the CPU (its defaults differ).
    pub fn cpu(&self) -> bool {
        self.backend.info().backend == crate::backend::BackendKind::Cpu
    }

    /// Checks that `shape` fits in free memory with its input
    /// sets (more than one with `--cold`), before anything is allocated; returns the sets.
    pub fn check_fits(&self, dtype: DType, shape: GemmShape) -> anyhow::Result<u32> {
        let be = self.backend();
        let sets = setup::input_sets(be, dtype, shape, self.settings.cold);
        setup::check_memory(be, dtype, shape, sets)?;
        Ok(sets)
    }

    /// The NVML sampler of the device, where there is one.
    pub fn sampler(&self) -> Option<Sampler> {
        telemetry::nvml::for_device(self.backend.info())
    }

    /// An empty profile of `kind` that plans `planned` results, and its default file name.
    pub fn new_profile(
        &self,
        kind: crate::profile::ProfileKind,
        planned: usize,
        shapes: &[GemmShape],
    ) -> (Profile, String) {
        let be = self.backend();
        let mut profile = setup::new_profile(be, self.settings.clone(), kind);
        profile.planned_results = u32::try_from(planned).ok();
        let name = crate::profile::default_file_name(
            &be.info().slug(),
            kind,
            &self.dtypes,
            shapes,
            &profile.created_utc,
        );
        (profile, name)
    }

    /// Installs the Ctrl-C handler; `what` says where the loop stops ("now", "after the
    /// current point").
    pub fn interrupt(&self, what: &'static str) -> &'static AtomicBool {
        interrupt::install(what)
    }
}

/// Saves a profile under one name after every item, each save replacing the previous one.
pub struct Saver<'a> {
    target: Option<&'a OutputTarget>,
    name: String,
    saved: Option<PathBuf>,
}

impl<'a> Saver<'a> {
    /// A saver into `target` (none with `--no-save`) under `name`.
    pub fn new(target: Option<&'a OutputTarget>, name: String) -> Self {
        Saver {
            target,
            name,
            saved: None,
        }
    }

    /// Saves `profile` (nothing without a target).
    pub fn save(&mut self, profile: &Profile) -> anyhow::Result<()> {
        if let Some(t) = self.target {
            self.saved = Some(t.save_named(profile, &self.name, self.saved.as_deref())?);
        }
        Ok(())
    }

    /// Where the last save went.
    pub fn saved(&self) -> Option<&Path> {
        self.saved.as_deref()
    }

    pub fn into_saved(self) -> Option<PathBuf> {
        self.saved
    }
}

/// How a measuring command ends: stopped by Ctrl-C (after `interrupted_note` on standard
/// error), failed verification (`invalid`, the error's message), or success.
pub fn exit_code(
    interrupted: bool,
    interrupted_note: impl FnOnce() -> String,
    invalid: Option<String>,
) -> anyhow::Result<ExitCode> {
    if interrupted {
        eprintln!("{}", interrupted_note());
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    match invalid {
        Some(msg) => Err(InvalidResult(msg).into()),
        None => Ok(ExitCode::SUCCESS),
    }
}
