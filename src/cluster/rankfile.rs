//! One file per rank (`rank-00017.json`) in a shared folder, written as the rank measures, so
//! that a job of many GPUs leaves one profile per GPU that `gpubench report` can merge, and a
//! rank that hangs loses only what it had not done.
//!
//! The file is an ordinary profile with a `cluster` section ([`ClusterInfo`]). Two ranks never
//! write the same file: the name is the rank's number, a file left by an earlier job is
//! refused before anything is measured (unless `--force`), and the first write never replaces
//! a file another process created in the meantime.

use std::path::{Path, PathBuf};

use crate::error::usage;
pub use crate::profile::ClusterInfo;
use crate::profile::Profile;

/// `rank-00017.json`: five digits, so a folder lists in rank order up to 99,999 ranks.
pub fn file_name(rank: u32) -> String {
    format!("rank-{rank:05}.json")
}

/// The rank a file name stands for (`rank-00017.json` → 17).
pub fn rank_of(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("rank-")?.strip_suffix(".json")?;
    if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Saves one rank's profile into the results folder after every result.
#[derive(Debug)]
pub struct RankSaver {
    path: PathBuf,
    force: bool,
    written: bool,
}

impl RankSaver {
    /// Checks, before anything is measured, that `dir` can hold this rank's file: the folder
    /// exists or is created and is writable, and no earlier file stands at the rank's name
    /// (unless `force`).
    pub fn check(dir: &Path, rank: u32, force: bool) -> anyhow::Result<RankSaver> {
        let target = crate::profile::OutputTarget::check(None, dir, force)?;
        let path = target.dir.join(file_name(rank));
        if std::fs::symlink_metadata(&path).is_ok() && !force {
            return Err(usage(format!(
                "--results-dir {}: already holds {} from an earlier job; give each job its own --results-dir (e.g. results/$SLURM_JOB_ID), or --force to replace it",
                dir.display(),
                file_name(rank)
            )));
        }
        crate::profile::check_output_file("--results-dir", &path, true)?;
        Ok(RankSaver {
            path,
            force,
            written: false,
        })
    }

    /// The file this rank writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stamps the profile's `cluster.saved_utc` and writes it (atomically). The first write
    /// refuses to replace a file another process created since [`check`](Self::check) (two
    /// ranks given the same number); later writes replace this rank's own file.
    pub fn save(&mut self, profile: &mut Profile) -> anyhow::Result<PathBuf> {
        if let Some(c) = profile.cluster.as_mut() {
            c.saved_utc = crate::profile::now_utc();
        }
        let replace = self.written || self.force;
        crate::profile::write_atomic(&self.path, profile.to_json().as_bytes(), replace).map_err(
            |e| {
                if self.written {
                    e
                } else {
                    usage(format!(
                        "{}: written by another process while this rank measured: two processes were given the same rank; check the launcher's rank variables",
                        self.path.display()
                    ))
                }
            },
        )?;
        self.written = true;
        Ok(self.path.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(file_name(17), "rank-00017.json");
        assert_eq!(file_name(123_456), "rank-123456.json");
        assert_eq!(rank_of("rank-00017.json"), Some(17));
        assert_eq!(rank_of("rank-123456.json"), Some(123_456));
        for bad in [
            "rank-17.json",
            "rank-0001x.json",
            "rank-00017.json.tmp",
            "x.json",
        ] {
            assert_eq!(rank_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_earlier_file_is_refused_before_measuring() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rank-00003.json"), "{}").unwrap();
        let e = RankSaver::check(dir.path(), 3, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("already holds rank-00003.json"), "{e}");
        assert!(RankSaver::check(dir.path(), 3, true).is_ok());
        assert!(RankSaver::check(dir.path(), 4, false).is_ok());
    }
}
