//! Where `--export-csv` and `--export-markdown` write: paths checked before anything is
//! measured (so a typo fails at once, exit 2), files written atomically at the end.

use std::path::PathBuf;

use super::{CsvExporter, Exporter, MarkdownExporter};
use crate::error::usage;
use crate::profile::{check_output_file, write_atomic, Profile};

/// The export files a command was asked for.
#[derive(Debug, Clone, Default)]
pub struct ExportTargets {
    pub csv: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub force: bool,
}

impl ExportTargets {
    /// Checks each path before anything is measured (see [`check_output_file`]).
    pub fn check(
        csv: Option<PathBuf>,
        markdown: Option<PathBuf>,
        force: bool,
    ) -> anyhow::Result<Self> {
        let check = |flag: &str, p: Option<PathBuf>| {
            p.map(|p| check_output_file(flag, &p, force)).transpose()
        };
        let csv = check("--export-csv", csv)?;
        let markdown = check("--export-markdown", markdown)?;
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
        let wanted: [(&Option<PathBuf>, &dyn Exporter); 2] = [
            (&self.csv, &CsvExporter),
            (&self.markdown, &MarkdownExporter),
        ];
        let mut done = Vec::new();
        for (path, exporter) in wanted {
            if let Some(path) = path {
                write_atomic(path, &exporter.serialize(p)?, self.force)?;
                done.push(path.clone());
            }
        }
        Ok(done)
    }

    /// Whether any export was asked for.
    pub fn any(&self) -> bool {
        self.csv.is_some() || self.markdown.is_some()
    }
}
