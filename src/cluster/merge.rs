//! `gpubench report DIR`: the rank files of one job merged into one picture: a table per
//! node, the GPUs the rules in [`super::outliers`] flag, the ranks that never wrote a file,
//! and those that stopped early (stragglers), with a list of bad hosts a script can read.
//! The nodes' `comm-<host>.json` files in the same folder add the links inside each node,
//! compared with the nodes of as many GPUs ([`super::links`]).
//!
//! Loading gathers; [`stragglers`] and [`missing_ranks`] are pure functions; the text view is
//! `crate::output::cluster`. It reports and never acts on a node.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::links::{self, NodeLinks};
use super::outliers::{self, Flag, Point, Rules};
use super::rankfile::{self, ClusterInfo};
use crate::error::usage;
use crate::profile::Profile;

/// One rank's file, loaded.
#[derive(Debug, Clone)]
pub struct RankFile {
    pub path: PathBuf,
    pub profile: Profile,
    pub info: ClusterInfo,
}

/// The rank files of a folder, and the files that could not be used (with why).
#[derive(Debug, Default)]
pub struct Loaded {
    pub ranks: Vec<RankFile>,
    /// (rank from the file name, problem), for files that are damaged or not rank files.
    pub problems: Vec<(u32, String)>,
    /// The nodes' communication profiles (`comm-<host>.json`), in file name order.
    pub comm: Vec<NodeLinks>,
    /// Communication files that could not be used, with why.
    pub comm_problems: Vec<String>,
}

/// Loads every `rank-NNNNN.json` in `dir`, in rank order, and every `comm-<host>.json`. A
/// damaged file is kept as a problem (its rank is then reported), not an error.
pub fn load_dir(dir: &Path) -> anyhow::Result<Loaded> {
    if !dir.is_dir() {
        return Err(usage(format!(
            "{}: not a folder; give the --results-dir the ranks wrote into",
            dir.display()
        )));
    }
    let entries: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| usage(format!("{}: cannot read the folder: {e}", dir.display())))?
        .flatten()
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .collect();
    let mut names: Vec<(u32, PathBuf)> = entries
        .iter()
        .filter_map(|(name, path)| Some((rankfile::rank_of(name)?, path.clone())))
        .collect();
    names.sort();
    let mut comm: Vec<&PathBuf> = entries
        .iter()
        .filter(|(name, _)| links::is_comm_file(name))
        .map(|(_, p)| p)
        .collect();
    comm.sort();
    if names.is_empty() && comm.is_empty() {
        return Err(usage(format!(
            "{}: holds no rank-NNNNN.json files (nor comm-<host>.json); run 'gpubench run --results-dir {}' under srun, mpirun or torchrun first",
            dir.display(),
            dir.display()
        )));
    }
    let mut out = Loaded::default();
    for path in comm {
        match links::load(path) {
            Ok(n) => out.comm.push(n),
            Err(e) => out.comm_problems.push(format!("{e:#}")),
        }
    }
    for (rank, path) in names {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        match Profile::load(&path) {
            Err(e) => out.problems.push((rank, format!("{e:#}"))),
            Ok(p) => match p.cluster.clone() {
                None => out.problems.push((
                    rank,
                    format!("{name}: a profile without a cluster section (not written by a rank)"),
                )),
                Some(info) if info.rank != rank => out.problems.push((
                    rank,
                    format!(
                        "{name}: says it is rank {}; the file was renamed",
                        info.rank
                    ),
                )),
                Some(info) => out.ranks.push(RankFile {
                    path,
                    profile: p,
                    info,
                }),
            },
        }
    }
    Ok(out)
}

/// The ranks below `world_size` with no file.
pub fn missing_ranks(world_size: u32, present: &BTreeSet<u32>) -> Vec<u32> {
    (0..world_size).filter(|r| !present.contains(r)).collect()
}

/// What the straggler rule needs of one rank file.
#[derive(Debug, Clone, PartialEq)]
pub struct RankState {
    pub rank: u32,
    pub host: String,
    pub done: usize,
    pub planned: Option<usize>,
    pub interrupted: bool,
    /// Seconds since the epoch of the last save.
    pub saved_s: Option<i64>,
    pub world_size: u32,
    /// Job id and rendezvous session, joined (`81234/9fa1…`), where known.
    pub job: Option<String>,
}

/// A rank that stopped early, hangs, or belongs elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Straggler {
    pub rank: u32,
    pub host: String,
    pub why: String,
}

/// The most common value (the smallest among equals).
fn mode<T: Ord + Clone>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|(_, c)| *c == best).map(|(v, _)| v)
}

/// Ranks that stopped before their last result (interrupted, killed, or still running),
/// whose last save is more than `stale_after_s` older than the newest rank's, or whose job
/// or world size differs from most ranks'.
pub fn stragglers(states: &[RankState], stale_after_s: f64) -> Vec<Straggler> {
    let newest = states.iter().filter_map(|s| s.saved_s).max();
    let world = mode(states.iter().map(|s| s.world_size));
    let job = mode(states.iter().filter_map(|s| s.job.clone()));
    let mut out = Vec::new();
    for s in states {
        let mut why = Vec::new();
        if s.interrupted {
            why.push(format!("interrupted after {} results", s.done));
        } else if let Some(p) = s.planned.filter(|p| s.done < *p) {
            why.push(format!(
                "stopped after {} of {p} results (killed, hung or still running)",
                s.done
            ));
        }
        if let (Some(n), Some(t)) = (newest, s.saved_s) {
            let behind = (n - t) as f64;
            if behind > stale_after_s {
                why.push(format!(
                    "last saved {} before the newest rank file",
                    fmt_age(behind)
                ));
            }
        }
        if let Some(w) = world.filter(|w| *w != s.world_size) {
            why.push(format!("says world size {}, most ranks {w}", s.world_size));
        }
        if let (Some(j), Some(mine)) = (&job, &s.job) {
            if j != mine {
                why.push(format!("from another job ({mine}; most ranks {j})"));
            }
        }
        if !why.is_empty() {
            out.push(Straggler {
                rank: s.rank,
                host: s.host.clone(),
                why: why.join("; "),
            });
        }
    }
    out
}

/// A delay in seconds, minutes or hours, as a person reads it.
fn fmt_age(s: f64) -> String {
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// The merged picture of one job.
#[derive(Debug, Clone)]
pub struct Report {
    pub dir: String,
    pub world_size: u32,
    pub ranks_found: usize,
    pub launchers: Vec<String>,
    pub rules: Rules,
    pub points: Vec<Point>,
    pub flags: Vec<Flag>,
    pub missing: Vec<u32>,
    pub stragglers: Vec<Straggler>,
    pub problems: Vec<String>,
    /// Per rank: where it ran and on which GPU.
    pub ranks: BTreeMap<u32, RankGpu>,
    /// The nodes' links compared (empty without `comm-<host>.json` files).
    pub links: links::Compared,
    /// Per node with a communication file: (host, file name, GPUs).
    pub link_nodes: Vec<(String, String, u32)>,
}

/// The key points of one result compare under: dtype and shape.
/// What a result measured, the key points compare by: dtype and shape.
pub(crate) fn key(r: &crate::profile::GemmResult) -> String {
    format!("{} {}", r.dtype, r.shape())
}

/// The clock-limiting throttle reasons telemetry saw during a result.
pub(crate) fn limiting_throttle(r: &crate::profile::GemmResult) -> Vec<String> {
    crate::telemetry::of_result(r)
        .map(|t| {
            t.throttle_reasons
                .into_iter()
                .filter(|n| crate::telemetry::is_limiting(n))
                .collect()
        })
        .unwrap_or_default()
}

fn epoch_s(utc: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(utc)
        .ok()
        .map(|t| t.timestamp())
}

/// Where a rank ran: its host, local rank and device, and the device's PCI address when the
/// rank measured a GPU (what an operator needs to find the GPU in the machine).
#[derive(Debug, Clone, PartialEq)]
pub struct RankGpu {
    pub host: String,
    pub local_rank: Option<u32>,
    pub device: String,
    pub pci_bus_id: Option<String>,
}

/// Builds the report from loaded rank files.
pub fn build(dir: &Path, loaded: &Loaded, rules: Rules, stale_after_s: f64) -> Report {
    let mut points = Vec::new();
    let mut idle = Vec::new();
    let mut states = Vec::new();
    let mut ranks = BTreeMap::new();
    for f in &loaded.ranks {
        let c = &f.info;
        ranks.insert(
            c.rank,
            RankGpu {
                host: c.host.clone(),
                local_rank: c.local_rank,
                device: f.profile.device.name.clone(),
                pci_bus_id: f.profile.device.pci_bus_id.clone(),
            },
        );
        if f.profile.results.is_empty() {
            idle.push((c.rank, c.host.clone()));
        }
        for r in &f.profile.results {
            points.push(Point {
                rank: c.rank,
                host: c.host.clone(),
                key: key(r),
                backend: f.profile.device.backend,
                tflops: r.tflops,
                verified: r.valid(),
                efficiency: r
                    .peak
                    .spec_tflops
                    .filter(|p| *p > 0.0)
                    .map(|p| r.tflops / p),
                throttle: limiting_throttle(r),
            });
        }
        let job = match (&c.job_id, &c.session) {
            (None, None) => None,
            (j, s) => Some(format!(
                "{}{}",
                j.as_deref().unwrap_or("-"),
                s.as_ref().map(|s| format!("/{s}")).unwrap_or_default()
            )),
        };
        states.push(RankState {
            rank: c.rank,
            host: c.host.clone(),
            done: f.profile.results.len(),
            planned: f.profile.planned_results.map(|p| p as usize),
            interrupted: f.profile.interrupted == Some(true),
            saved_s: epoch_s(&c.saved_utc),
            world_size: c.world_size,
            job,
        });
    }
    let world_size = mode(states.iter().map(|s| s.world_size)).unwrap_or(0).max(
        loaded
            .problems
            .iter()
            .map(|(r, _)| r + 1)
            .max()
            .unwrap_or(0),
    );
    let mut present: BTreeSet<u32> = loaded.ranks.iter().map(|f| f.info.rank).collect();
    let mut stragglers = stragglers(&states, stale_after_s);
    for (r, why) in &loaded.problems {
        present.insert(*r);
        stragglers.push(Straggler {
            rank: *r,
            host: "?".into(),
            why: format!("unusable file: {why}"),
        });
    }
    stragglers.sort_by_key(|s| s.rank);
    let flags = outliers::check(&points, &idle, &rules);
    let launchers: BTreeSet<String> = loaded
        .ranks
        .iter()
        .map(|f| f.info.launcher.clone())
        .collect();
    let mut problems: Vec<String> = loaded.problems.iter().map(|(_, p)| p.clone()).collect();
    problems.extend(loaded.comm_problems.iter().cloned());
    Report {
        links: links::compare(&loaded.comm, rules.threshold),
        link_nodes: loaded
            .comm
            .iter()
            .map(|n| {
                (
                    n.host.clone(),
                    n.path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    n.gpus,
                )
            })
            .collect(),
        dir: dir.display().to_string(),
        world_size,
        ranks_found: loaded.ranks.len(),
        launchers: launchers.into_iter().collect(),
        rules,
        points,
        flags,
        missing: missing_ranks(world_size, &present),
        stragglers,
        problems,
        ranks,
    }
}

impl Report {
    /// Hosts with a flagged GPU, a straggling rank or a slow link, sorted.
    pub fn bad_hosts(&self) -> Vec<String> {
        let hosts: BTreeSet<String> = self
            .flags
            .iter()
            .map(|f| f.host.clone())
            .chain(self.stragglers.iter().map(|s| s.host.clone()))
            .chain(self.links.flags.iter().map(|f| f.host.clone()))
            .filter(|h| h != "?")
            .collect();
        hosts.into_iter().collect()
    }

    /// Whether anything needs a look (exit code 4).
    pub fn anything_flagged(&self) -> bool {
        !(self.flags.is_empty()
            && self.missing.is_empty()
            && self.stragglers.is_empty()
            && self.links.flags.is_empty())
    }

    /// Per node and key: ranks, devices, median, min, max of TFLOPS.
    pub fn node_rows(&self) -> Vec<NodeRow> {
        let mut rows: BTreeMap<(String, String), NodeRow> = BTreeMap::new();
        for p in &self.points {
            let row = rows
                .entry((p.host.clone(), p.key.clone()))
                .or_insert_with(|| NodeRow {
                    host: p.host.clone(),
                    key: p.key.clone(),
                    ..Default::default()
                });
            row.ranks.push(p.rank);
            row.tflops.push(p.tflops);
            let dev = self
                .ranks
                .get(&p.rank)
                .map(|r| r.device.clone())
                .unwrap_or_default();
            if !row.devices.contains(&dev) {
                row.devices.push(dev);
            }
        }
        for f in &self.flags {
            if let Some(row) = rows.get_mut(&(f.host.clone(), f.what.clone())) {
                if !row.flagged.contains(&f.rank) {
                    row.flagged.push(f.rank);
                }
            }
        }
        rows.into_values().collect()
    }

    /// The summary as JSON: what a script reads (`bad_hosts`, `missing_ranks`, `flagged`).
    pub fn to_json(&self) -> Value {
        let (all, _) = outliers::medians(&self.points);
        json!({
            "dir": self.dir,
            "world_size": self.world_size,
            "ranks_found": self.ranks_found,
            "launchers": self.launchers,
            "threshold": self.rules.threshold,
            "min_efficiency": self.rules.min_efficiency,
            "ok": !self.anything_flagged(),
            "bad_hosts": self.bad_hosts(),
            "missing_ranks": self.missing,
            "flagged": self.flags.iter().map(|f| json!({
                "rank": f.rank,
                "host": f.host,
                "local_rank": self.ranks.get(&f.rank).and_then(|r| r.local_rank),
                "device": self.ranks.get(&f.rank).map(|r| r.device.clone()),
                "pci_bus_id": self.ranks.get(&f.rank).and_then(|r| r.pci_bus_id.clone()),
                "what": f.what,
                "reason": f.reason.tag(),
                "detail": f.reason.to_string(),
            })).collect::<Vec<_>>(),
            "stragglers": self.stragglers.iter().map(|s| json!({
                "rank": s.rank, "host": s.host, "why": s.why,
            })).collect::<Vec<_>>(),
            "medians_tflops": all,
            "nodes": self.node_rows().iter().map(|n| json!({
                "host": n.host,
                "what": n.key,
                "ranks": n.ranks,
                "devices": n.devices,
                "median_tflops": outliers::median(&n.tflops),
                "min_tflops": n.tflops.iter().copied().reduce(f64::min),
                "max_tflops": n.tflops.iter().copied().reduce(f64::max),
                "flagged_ranks": n.flagged,
            })).collect::<Vec<_>>(),
            "links": {
                "nodes": self.link_nodes.iter().map(|(h, f, g)| json!({
                    "host": h, "file": f, "gpus": g,
                })).collect::<Vec<_>>(),
                "compared": self.links.rows.iter().map(|r| json!({
                    "op": r.op,
                    "dtype": r.dtype,
                    "gpus": r.gpus,
                    "bytes": r.bytes,
                    "at": if r.bytes.is_some() { "largest size all nodes of this GPU count measured" } else { "each node's peak" },
                    "median_busbw_gbps": r.median_gbps,
                    "busbw_gbps": r.busbw.iter().cloned().collect::<BTreeMap<String, f64>>(),
                })).collect::<Vec<_>>(),
                "flagged": self.links.flags.iter().map(|f| json!({
                    "host": f.host,
                    "what": f.what(),
                    "op": f.op,
                    "dtype": f.dtype,
                    "gpus": f.gpus,
                    "bytes": f.bytes,
                    "busbw_gbps": f.busbw_gbps,
                    "median_busbw_gbps": f.median_gbps,
                    "slowest_pair": f.slowest_pair.as_ref().map(|p| json!({
                        "from": p.from, "to": p.to, "bytes": p.bytes, "busbw_gbps": p.busbw_gbps,
                    })),
                    "reason": links::LinkFlag::TAG,
                    "detail": f.detail(),
                })).collect::<Vec<_>>(),
            },
            "problems": self.problems,
        })
    }
}

/// One node's results of one dtype and shape.
#[derive(Debug, Default)]
pub struct NodeRow {
    pub host: String,
    /// dtype and shape.
    pub key: String,
    pub ranks: Vec<u32>,
    /// The device names of its ranks, each once.
    pub devices: Vec<String>,
    pub tflops: Vec<f64>,
    /// Its ranks with a flag on this key.
    pub flagged: Vec<u32>,
}

/// Ranks as ranges: `0–3, 5, 7–8`.
pub fn ranges(ranks: &[u32]) -> String {
    let mut v = ranks.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}–{}", v[i], v[j])
        } else {
            v[i].to_string()
        });
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(rank: u32, done: usize, saved_s: i64) -> RankState {
        RankState {
            rank,
            host: format!("n{}", rank / 4),
            done,
            planned: Some(2),
            interrupted: false,
            saved_s: Some(saved_s),
            world_size: 8,
            job: Some("81234".into()),
        }
    }

    #[test]
    fn missing_ranks_are_the_gaps() {
        let present: BTreeSet<u32> = [0, 1, 3, 4].into_iter().collect();
        assert_eq!(missing_ranks(6, &present), [2, 5]);
        assert!(missing_ranks(2, &[0, 1].into_iter().collect()).is_empty());
    }

    #[test]
    fn stragglers_stopped_stale_and_foreign() {
        let mut s: Vec<RankState> = (0..8).map(|r| state(r, 2, 1_000_000)).collect();
        s[2].done = 1;
        s[3].saved_s = Some(1_000_000 - 3600);
        s[5].job = Some("81000".into());
        s[6].world_size = 16;
        s[7].interrupted = true;
        let out = stragglers(&s, 900.0);
        let by: BTreeMap<u32, &str> = out.iter().map(|s| (s.rank, s.why.as_str())).collect();
        assert_eq!(by.len(), 5, "{out:?}");
        assert!(
            by[&2].starts_with("stopped after 1 of 2 results"),
            "{}",
            by[&2]
        );
        assert!(by[&3].starts_with("last saved 60 min before"), "{}", by[&3]);
        assert!(by[&5].contains("from another job (81000; most ranks 81234)"));
        assert!(by[&6].contains("says world size 16, most ranks 8"));
        assert!(by[&7].starts_with("interrupted after 2 results"));
        assert!(stragglers(&s[..2], 900.0).is_empty());
    }

    #[test]
    fn rank_ranges() {
        assert_eq!(ranges(&[5, 0, 1, 2, 3, 7, 8]), "0–3, 5, 7–8");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[]), "");
    }
}
