//! The links inside each node compared across like nodes: every node runs `gpubench comm
//! --results-dir DIR` over its own GPUs (NVLink or PCIe), and a node whose bus bandwidth falls
//! below a fraction of the median of the nodes with as many GPUs is one to look at. Loading
//! reads the `comm-<host>.json` files; [`compare`] is a pure function over what they hold.
//!
//! Only nodes with the same GPU count compare: busbw depends on how many GPUs share the ring
//! (a 4-GPU node is not a slow 8-GPU node), so each operation, element type and GPU count is a
//! group of its own, and a group of one node flags nothing. Within a group, nodes compare at
//! the largest message size every one of them measured (busbw is flat there, and the same size
//! on every node is what makes the figures comparable); when they share no size, at each
//! node's peak busbw. For send/recv the node's slowest ring pair, each measured alone, is
//! named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The file a node's `gpubench comm --results-dir` writes: `comm-<host>.json`.
pub fn file_name(host: &str) -> String {
    let safe: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("comm-{safe}.json")
}

/// Whether a file name is one [`file_name`] makes.
pub fn is_comm_file(name: &str) -> bool {
    name.strip_prefix("comm-")
        .and_then(|r| r.strip_suffix(".json"))
        .is_some_and(|h| !h.is_empty())
}

/// One measured point of a node, as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LinkPoint {
    pub op: String,
    pub dtype: String,
    pub bytes: u64,
    pub busbw_gbps: f64,
}

/// One send/recv pair measured alone.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PairBw {
    pub from: String,
    pub to: String,
    pub bytes: u64,
    pub busbw_gbps: f64,
}

/// One node's communication profile.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLinks {
    pub host: String,
    pub path: PathBuf,
    /// GPUs the node's run drove.
    pub gpus: u32,
    pub points: Vec<LinkPoint>,
    pub pairs: Vec<PairBw>,
}

#[derive(Deserialize)]
struct CommFile {
    kind: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    span: Option<String>,
    #[serde(default)]
    ranks: u32,
    #[serde(default)]
    points: Vec<LinkPoint>,
    #[serde(default)]
    pairs: Vec<PairBw>,
}

/// Reads one `comm-<host>.json`; an error says why the file cannot be compared.
pub fn load(path: &Path) -> anyhow::Result<NodeLinks> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{name}: cannot read it: {e}"))?;
    let f: CommFile = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{name}: not a gpubench comm profile ({e})"))?;
    if f.kind != "comm" {
        anyhow::bail!("{name}: a {} profile, not a gpubench comm one", f.kind);
    }
    if f.span.as_deref() == Some("nodes") {
        anyhow::bail!(
            "{name}: measured across nodes; nodes compare only runs over one node's GPUs (gpubench comm --results-dir on each node)"
        );
    }
    let host = f.host.unwrap_or_else(|| {
        name.trim_start_matches("comm-")
            .trim_end_matches(".json")
            .to_string()
    });
    Ok(NodeLinks {
        host,
        path: path.to_path_buf(),
        gpus: f.ranks,
        points: f.points,
        pairs: f.pairs,
    })
}

/// Where one operation and element type is compared among the nodes with one GPU count.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRow {
    pub op: String,
    pub dtype: String,
    /// GPUs of every node in the group.
    pub gpus: u32,
    /// The message size compared; `None`: the nodes share no size, each node's peak is used.
    pub bytes: Option<u64>,
    /// Per node (in node order): its busbw in GB/s.
    pub busbw: Vec<(String, f64)>,
    pub median_gbps: f64,
}

/// A node whose link fell below the threshold of the median of the nodes with as many GPUs.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkFlag {
    pub host: String,
    pub op: String,
    pub dtype: String,
    /// The node's GPUs (those of every node it was compared with).
    pub gpus: u32,
    pub bytes: Option<u64>,
    pub busbw_gbps: f64,
    pub median_gbps: f64,
    /// For send/recv: the node's slowest pair.
    pub slowest_pair: Option<PairBw>,
}

impl LinkFlag {
    /// The reason tag scripts read.
    pub const TAG: &'static str = "busbw_below_median";

    /// What was compared: `all_reduce bf16 at 1 GiB` (or `at its peak`).
    pub fn what(&self) -> String {
        format!("{} {} {}", self.op, self.dtype, at(self.bytes))
    }

    /// Why, in one sentence.
    pub fn detail(&self) -> String {
        let mut s = format!(
            "busbw {:.1} GB/s, {:.0} % of the median of nodes ({:.1} GB/s)",
            self.busbw_gbps,
            self.busbw_gbps / self.median_gbps * 100.0,
            self.median_gbps
        );
        if let Some(p) = &self.slowest_pair {
            s.push_str(&format!(
                "; slowest pair {} -> {} at {:.1} GB/s",
                p.from, p.to, p.busbw_gbps
            ));
        }
        s
    }
}

/// `at 1 GiB`, or `at its peak` when nodes share no size.
pub fn at(bytes: Option<u64>) -> String {
    match bytes {
        Some(b) => format!("at {}", crate::units::fmt_bytes(b as f64)),
        None => "at its peak".into(),
    }
}

/// What comparing the nodes found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Compared {
    pub rows: Vec<LinkRow>,
    pub flags: Vec<LinkFlag>,
}

/// Median of the values (mean of the two middle ones for an even count).
fn median(v: &[f64]) -> f64 {
    super::outliers::median(v).unwrap_or(0.0)
}

/// The groups nodes compare in: operation and element type in the order first measured,
/// then GPU count, ascending.
fn groups(nodes: &[NodeLinks]) -> Vec<(String, String, u32)> {
    let mut kinds: Vec<(String, String)> = Vec::new();
    for n in nodes {
        for p in &n.points {
            let k = (p.op.clone(), p.dtype.clone());
            if p.busbw_gbps > 0.0 && !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    let mut out = Vec::new();
    for (op, dtype) in kinds {
        let mut gpus: Vec<u32> = nodes
            .iter()
            .filter(|n| {
                n.points
                    .iter()
                    .any(|p| p.op == op && p.dtype == dtype && p.busbw_gbps > 0.0)
            })
            .map(|n| n.gpus)
            .collect();
        gpus.sort_unstable();
        gpus.dedup();
        out.extend(gpus.into_iter().map(|g| (op.clone(), dtype.clone(), g)));
    }
    out
}

/// Compares the nodes' busbw per operation, element type and GPU count (in the order first
/// measured, then fewest GPUs first): at the largest size all nodes of the group share, else
/// at each node's peak; in a group of two nodes or more, a node below `threshold` × the
/// group's median is flagged, for send/recv with its slowest pair.
pub fn compare(nodes: &[NodeLinks], threshold: f64) -> Compared {
    let mut out = Compared::default();
    for (op, dtype, gpus) in groups(nodes) {
        // Per node of the group that measured it: size → busbw.
        let curves: Vec<(&NodeLinks, BTreeMap<u64, f64>)> = nodes
            .iter()
            .filter(|n| n.gpus == gpus)
            .map(|n| {
                let c: BTreeMap<u64, f64> = n
                    .points
                    .iter()
                    .filter(|p| p.op == op && p.dtype == dtype && p.busbw_gbps > 0.0)
                    .map(|p| (p.bytes, p.busbw_gbps))
                    .collect();
                (n, c)
            })
            .filter(|(_, c)| !c.is_empty())
            .collect();
        let shared = curves
            .iter()
            .map(|(_, c)| c.keys().copied().collect::<Vec<u64>>())
            .reduce(|a, b| a.into_iter().filter(|x| b.contains(x)).collect())
            .and_then(|s| s.into_iter().max());
        let busbw: Vec<(String, f64)> = curves
            .iter()
            .map(|(n, c)| {
                let v = match shared {
                    Some(b) => c[&b],
                    None => c.values().copied().fold(0.0, f64::max),
                };
                (n.host.clone(), v)
            })
            .collect();
        let values: Vec<f64> = busbw.iter().map(|(_, v)| *v).collect();
        let m = median(&values);
        // A node alone with its GPU count has nothing like it to compare with.
        let alike = curves.len() > 1;
        for ((n, _), (_, v)) in curves.iter().zip(&busbw) {
            if alike && m > 0.0 && *v < threshold * m {
                let slowest_pair = (op == "send_recv")
                    .then(|| {
                        n.pairs
                            .iter()
                            .min_by(|a, b| a.busbw_gbps.total_cmp(&b.busbw_gbps))
                            .cloned()
                    })
                    .flatten();
                out.flags.push(LinkFlag {
                    host: n.host.clone(),
                    op: op.clone(),
                    dtype: dtype.clone(),
                    gpus,
                    bytes: shared,
                    busbw_gbps: *v,
                    median_gbps: m,
                    slowest_pair,
                });
            }
        }
        out.rows.push(LinkRow {
            op,
            dtype,
            gpus,
            bytes: shared,
            busbw,
            median_gbps: m,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, scale: f64, sizes: &[u64]) -> NodeLinks {
        node_of(host, 4, scale, sizes)
    }

    /// A node of `gpus` GPUs at `scale` × 100 GB/s (from 1 MiB up).
    fn node_of(host: &str, gpus: u32, scale: f64, sizes: &[u64]) -> NodeLinks {
        let mut points = Vec::new();
        for op in ["all_reduce", "send_recv"] {
            for &b in sizes {
                // busbw grows with the size, to 100 GB/s at 1 MiB and above
                let bw = 100.0 * scale * (b as f64 / (1 << 20) as f64).min(1.0);
                points.push(LinkPoint {
                    op: op.into(),
                    dtype: "bf16".into(),
                    bytes: b,
                    busbw_gbps: bw,
                });
            }
        }
        let pairs = (0..4)
            .map(|r| PairBw {
                from: format!("cuda:{r}"),
                to: format!("cuda:{}", (r + 1) % 4),
                bytes: 1 << 20,
                busbw_gbps: if r == 1 { 40.0 } else { 100.0 * scale },
            })
            .collect();
        NodeLinks {
            host: host.into(),
            path: PathBuf::from(file_name(host)),
            gpus,
            points,
            pairs,
        }
    }

    #[test]
    fn file_names_are_safe_and_recognised() {
        assert_eq!(file_name("gpu01"), "comm-gpu01.json");
        assert_eq!(file_name("a/b c"), "comm-a_b_c.json");
        assert!(is_comm_file("comm-gpu01.json"));
        for bad in ["comm-.json", "rank-00001.json", "comm-gpu01.json.tmp"] {
            assert!(!is_comm_file(bad), "{bad}");
        }
    }

    #[test]
    fn a_slow_node_is_flagged_at_the_largest_shared_size_with_its_slowest_pair() {
        let sizes = [1 << 10, 1 << 20, 1 << 22];
        // n3 measured one size more: the largest size all share is 4 MiB
        let mut n3 = node("n3", 1.0, &[1 << 10, 1 << 20, 1 << 22, 1 << 24]);
        n3.points.iter_mut().for_each(|p| {
            if p.bytes == 1 << 24 {
                p.busbw_gbps = 1.0; // would flag n3 if compared there
            }
        });
        let nodes = vec![
            node("n1", 1.0, &sizes),
            node("n2", 0.8, &sizes),
            n3,
            node("n4", 0.95, &sizes),
        ];
        let c = compare(&nodes, 0.9);
        assert_eq!(c.rows.len(), 2);
        assert_eq!(c.rows[0].op, "all_reduce");
        assert_eq!(c.rows[0].bytes, Some(1 << 22));
        // median of 100, 80, 100, 95
        assert!((c.rows[0].median_gbps - 97.5).abs() < 1e-9);
        let flagged: Vec<(&str, &str)> = c
            .flags
            .iter()
            .map(|f| (f.host.as_str(), f.op.as_str()))
            .collect();
        assert_eq!(flagged, [("n2", "all_reduce"), ("n2", "send_recv")]);
        assert_eq!(c.flags[0].slowest_pair, None);
        let pair = c.flags[1].slowest_pair.as_ref().unwrap();
        assert_eq!((pair.from.as_str(), pair.to.as_str()), ("cuda:1", "cuda:2"));
        assert_eq!(
            c.flags[1].detail(),
            "busbw 80.0 GB/s, 82 % of the median of nodes (97.5 GB/s); slowest pair cuda:1 -> cuda:2 at 40.0 GB/s"
        );
        assert_eq!(c.flags[1].what(), "send_recv bf16 at 4.00 MiB");
        // A looser threshold lets n2 pass.
        assert!(compare(&nodes, 0.8).flags.is_empty());
    }

    #[test]
    fn nodes_sharing_no_size_compare_at_their_peaks() {
        let nodes = vec![
            node("a", 1.0, &[1 << 20]),
            node("b", 1.0, &[1 << 21]),
            node("c", 0.5, &[1 << 22]),
        ];
        let c = compare(&nodes, 0.9);
        assert_eq!(c.rows[0].bytes, None);
        assert!(c.flags.iter().all(|f| f.host == "c" && f.bytes.is_none()));
        assert_eq!(c.flags.len(), 2);
        assert_eq!(c.flags[0].what(), "all_reduce bf16 at its peak");
    }

    #[test]
    fn one_node_or_equal_nodes_flag_nothing() {
        let sizes = [1 << 20];
        assert!(compare(&[node("a", 0.1, &sizes)], 0.9).flags.is_empty());
        let equal: Vec<NodeLinks> = ["a", "b", "c"]
            .iter()
            .map(|h| node(h, 1.0, &sizes))
            .collect();
        let c = compare(&equal, 0.9);
        assert!(c.flags.is_empty());
        assert_eq!(c.rows[0].busbw.len(), 3);
    }

    #[test]
    fn nodes_compare_only_with_nodes_of_as_many_gpus() {
        let sizes = [1 << 20];
        // the 4-GPU nodes at half the 8-GPU nodes' busbw: alike among themselves, not slow
        let nodes = vec![
            node_of("a8", 8, 1.0, &sizes),
            node_of("b4", 4, 0.5, &sizes),
            node_of("c8", 8, 1.0, &sizes),
            node_of("d4", 4, 0.5, &sizes),
        ];
        let c = compare(&nodes, 0.9);
        assert!(c.flags.is_empty(), "{:?}", c.flags);
        let groups: Vec<(&str, u32, usize, f64)> = c
            .rows
            .iter()
            .map(|r| (r.op.as_str(), r.gpus, r.busbw.len(), r.median_gbps))
            .collect();
        assert_eq!(
            groups,
            [
                ("all_reduce", 4, 2, 50.0),
                ("all_reduce", 8, 2, 100.0),
                ("send_recv", 4, 2, 50.0),
                ("send_recv", 8, 2, 100.0),
            ]
        );
        // one slow 8-GPU node among three is flagged against its like, with its GPU count
        let mut nodes = nodes;
        nodes.push(node_of("e8", 8, 0.5, &sizes));
        let c = compare(&nodes, 0.9);
        let flagged: Vec<(&str, &str, u32, f64)> = c
            .flags
            .iter()
            .map(|f| (f.host.as_str(), f.op.as_str(), f.gpus, f.median_gbps))
            .collect();
        assert_eq!(
            flagged,
            [
                ("e8", "all_reduce", 8, 100.0),
                ("e8", "send_recv", 8, 100.0)
            ]
        );
        // a node alone with its GPU count flags nothing, however slow
        let c = compare(
            &[
                node_of("a8", 8, 1.0, &sizes),
                node_of("b8", 8, 1.0, &sizes),
                node_of("c2", 2, 0.1, &sizes),
            ],
            0.9,
        );
        assert!(c.flags.is_empty(), "{:?}", c.flags);
        assert_eq!(c.rows[0].gpus, 2);
        assert_eq!(c.rows[0].busbw, [("c2".to_string(), 10.0)]);
    }

    #[test]
    fn comm_files_load_and_across_nodes_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("comm-n1.json");
        std::fs::write(
            &p,
            r#"{"kind":"comm","host":"n1","span":"node","ranks":4,
                "points":[{"op":"all_reduce","dtype":"bf16","bytes":1024,"count":512,
                           "time_us":1.0,"algbw_gbps":1.0,"busbw_gbps":1.5,"slowest_rank":0}],
                "pairs":[]}"#,
        )
        .unwrap();
        let n = load(&p).unwrap();
        assert_eq!((n.host.as_str(), n.gpus, n.points.len()), ("n1", 4, 1));
        let q = dir.path().join("comm-x.json");
        std::fs::write(&q, r#"{"kind":"comm","span":"nodes","ranks":16}"#).unwrap();
        let e = load(&q).unwrap_err().to_string();
        assert!(e.contains("measured across nodes"), "{e}");
        std::fs::write(&q, r#"{"kind":"run"}"#).unwrap();
        assert!(load(&q)
            .unwrap_err()
            .to_string()
            .contains("not a gpubench comm"));
    }
}
