//! Where `--export-csv` and `--export-markdown` write: paths checked before anything is
//! measured (so a typo fails at once, exit 2), files written atomically at the end.

use std::path::{Path, PathBuf};

use crate::error::usage;
use crate::profile::{write_atomic, Profile};

/// The export files a command was asked for.
#[derive(Debug, Clone, Default)]
pub struct ExportTargets {
    pub csv: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub force: bool,
}

impl ExportTargets {
    /// Checks each path: its folder exists, it is not a folder, and it does not exist
    /// unless `force`.
    pub fn check(
        csv: Option<PathBuf>,
        markdown: Option<PathBuf>,
        force: bool,
    ) -> anyhow::Result<Self> {
        for (flag, p) in [("--export-csv", &csv), ("--export-markdown", &markdown)] {
            if let Some(p) = p {
                check_path(flag, p, force)?;
            }
        }
        if csv.is_some() && csv == markdown {
            return Err(usage(
                "--export-csv and --export-markdown name the same file; give two paths",
            ));
        }
        Ok(ExportTargets {
            csv,
            markdown,
            force,
        })
    }

    /// Writes the requested files and returns their paths.
    pub fn write(&self, p: &Profile) -> anyhow::Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        if let Some(path) = &self.csv {
            write_atomic(path, super::csv::render(p).as_bytes(), self.force)?;
            done.push(path.clone());
        }
        if let Some(path) = &self.markdown {
            write_atomic(path, super::markdown::render(p).as_bytes(), self.force)?;
            done.push(path.clone());
        }
        Ok(done)
    }

    /// Whether any export was asked for.
    pub fn any(&self) -> bool {
        self.csv.is_some() || self.markdown.is_some()
    }
}

fn check_path(flag: &str, p: &Path, force: bool) -> anyhow::Result<()> {
    if p.is_dir() {
        return Err(usage(format!(
            "{flag} {}: is a folder; give a file path",
            p.display()
        )));
    }
    if p.exists() && !force {
        return Err(usage(format!(
            "{flag} {}: file exists; choose another path or pass --force to replace it",
            p.display()
        )));
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(usage(format!(
            "{flag} {}: folder {} does not exist; create it or choose another path",
            p.display(),
            dir.display()
        )));
    }
    Ok(())
}
