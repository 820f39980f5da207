//! `gpubench report DIR` as text: the merged picture of a job ([`Report`]) laid out for a
//! terminal: a table per node, the flagged GPUs, missing ranks and stragglers, the links
//! inside each node against the like nodes, and the bad hosts. The JSON a script reads stays
//! with the data ([`Report::to_json`]).

use std::collections::BTreeMap;

use super::format::tflops;
use super::table::{Align, Table, Width};
use crate::cluster::merge::{ranges, Report};
use crate::cluster::outliers;

/// The report as text for a terminal.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let (all, _) = outliers::medians(&r.points);
    let rank_part = r.ranks_found > 0 || !r.stragglers.is_empty();
    if rank_part {
        out.push_str(&format!(
            "Cluster report: {} ({} rank file{} of world size {}, launcher {}{})\n",
            r.dir,
            r.ranks_found,
            if r.ranks_found == 1 { "" } else { "s" },
            r.world_size,
            if r.launchers.is_empty() {
                "unknown".into()
            } else {
                r.launchers.join(", ")
            },
            if r.link_nodes.is_empty() {
                String::new()
            } else {
                format!("; {} node link files", r.link_nodes.len())
            }
        ));
        ranks(r, &mut out, &all);
    } else {
        out.push_str(&format!(
            "Cluster report: {} ({} node link file{}, no rank files)\n",
            r.dir,
            r.link_nodes.len(),
            if r.link_nodes.len() == 1 { "" } else { "s" },
        ));
    }
    links(r, &mut out);
    let bad = r.bad_hosts();
    out.push_str(&format!(
        "\nBad hosts: {}\n",
        if bad.is_empty() {
            "none".into()
        } else {
            bad.join(" ")
        }
    ));
    out
}

/// A table with these headings, the columns in `right` aligned right (headings too).
fn table(headings: &[&str], right: &[usize]) -> Table {
    headings
        .iter()
        .enumerate()
        .fold(Table::new().aligned_headings(), |t, (c, h)| {
            t.column(
                *h,
                if right.contains(&c) {
                    Align::Right
                } else {
                    Align::Left
                },
            )
        })
}

/// The links inside each node, compared with the nodes of as many GPUs (`comm-<host>.json`
/// files): a row per node, operation, element type and GPU count.
fn links(r: &Report, out: &mut String) {
    if r.link_nodes.is_empty() && r.links.rows.is_empty() {
        return;
    }
    out.push_str(&format!(
        "\nLinks inside each node (gpubench comm busbw, measured; threshold {:.2} of the median per GPU count)\n",
        r.rules.threshold
    ));
    let mut t = table(
        &[
            "node",
            "GPUs",
            "op",
            "dtype",
            "size",
            "busbw GB/s",
            "vs median",
            "flagged",
        ],
        &[1, 4, 5, 6],
    );
    for row in &r.links.rows {
        for (host, bw) in &row.busbw {
            let flagged = r.links.flags.iter().any(|f| {
                &f.host == host && f.op == row.op && f.dtype == row.dtype && f.gpus == row.gpus
            });
            t.row([
                host.clone(),
                row.gpus.to_string(),
                row.op.clone(),
                row.dtype.clone(),
                match row.bytes {
                    Some(b) => crate::units::fmt_bytes(b as f64),
                    None => "peak".into(),
                },
                format!("{bw:.1}"),
                // a node alone with its GPU count has no like to compare with
                if row.median_gbps > 0.0 && row.busbw.len() > 1 {
                    format!("{:.0} %", bw / row.median_gbps * 100.0)
                } else {
                    "–".into()
                },
                if flagged { "yes".into() } else { String::new() },
            ]);
        }
    }
    out.push_str(&t.render(Width::All));
    if r.links.flags.is_empty() {
        out.push_str("No node's links flagged.\n");
    } else {
        out.push_str("\nFlagged links\n");
        for f in &r.links.flags {
            out.push_str(&format!("  {} {}: {}\n", f.host, f.what(), f.detail()));
        }
    }
    for p in r.problems.iter().filter(|p| p.starts_with("comm-")) {
        out.push_str(&format!("  not compared: {p}\n"));
    }
}

/// The ranks' part: per node, flagged GPUs, missing ranks, stragglers.
fn ranks(r: &Report, out: &mut String, all: &BTreeMap<String, f64>) {
    out.push_str("\nPer node\n");
    let mut t = table(
        &[
            "node",
            "ranks",
            "device",
            "dtype m×n×k",
            "median TFLOPS",
            "min–max TFLOPS",
            "vs all ranks",
            "flagged",
        ],
        &[4, 5, 6],
    );
    for n in r.node_rows() {
        let med = outliers::median(&n.tflops).unwrap_or(0.0);
        let lo = n.tflops.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = n.tflops.iter().copied().fold(0.0, f64::max);
        let vs = all
            .get(&n.key)
            .filter(|m| **m > 0.0)
            .map(|m| format!("{:.0} %", med / m * 100.0))
            .unwrap_or_else(|| "–".into());
        t.row([
            n.host.clone(),
            ranges(&n.ranks),
            n.devices.join(", "),
            n.key.clone(),
            tflops(med),
            format!("{}–{}", tflops(lo), tflops(hi)),
            vs,
            if n.flagged.is_empty() {
                "0".into()
            } else {
                format!("{} ({})", n.flagged.len(), ranges(&n.flagged))
            },
        ]);
    }
    out.push_str(&t.render(Width::All));
    if r.flags.is_empty() {
        out.push_str(&format!(
            "\nNo GPU flagged (threshold {:.2} of the median{}).\n",
            r.rules.threshold,
            r.rules
                .min_efficiency
                .map(|e| format!(", efficiency floor {:.1} %", e * 100.0))
                .unwrap_or_default()
        ));
    } else {
        out.push_str("\nFlagged GPUs\n");
        // The PCI address finds a GPU in its machine; CPU ranks have none, and then no column.
        let bus = |rank: u32| r.ranks.get(&rank).and_then(|g| g.pci_bus_id.clone());
        let with_bus = r.flags.iter().any(|f| bus(f.rank).is_some());
        let mut head = vec!["rank", "node", "local", "device"];
        if with_bus {
            head.push("PCI bus");
        }
        head.extend(["dtype m×n×k", "why"]);
        let mut t = table(&head, &[0]);
        for f in &r.flags {
            let rank = r.ranks.get(&f.rank);
            let mut row = vec![
                f.rank.to_string(),
                f.host.clone(),
                rank.and_then(|r| r.local_rank)
                    .map(|l| l.to_string())
                    .unwrap_or_else(|| "–".into()),
                rank.map(|r| r.device.clone()).unwrap_or_default(),
            ];
            if with_bus {
                row.push(bus(f.rank).unwrap_or_else(|| "–".into()));
            }
            row.extend([f.what.clone(), f.reason.to_string()]);
            t.row(row);
        }
        out.push_str(&t.render(Width::All));
    }
    if !r.missing.is_empty() {
        out.push_str(&format!(
            "\nMissing ranks: {} (no rank file; world size {})\n",
            ranges(&r.missing),
            r.world_size
        ));
    }
    if !r.stragglers.is_empty() {
        out.push_str("\nStragglers\n");
        for s in &r.stragglers {
            out.push_str(&format!("  rank {} ({}): {}\n", s.rank, s.host, s.why));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendKind;
    use crate::cluster::links::{Compared, LinkFlag, LinkRow};
    use crate::cluster::merge::{RankGpu, Straggler};
    use crate::cluster::outliers::{Flag, Point, Reason, Rules};
    use crate::output::tests::line;

    fn point(rank: u32, tflops: f64) -> Point {
        Point {
            rank,
            host: format!("n{}", rank / 2),
            key: "bf16 64×64×64".into(),
            backend: BackendKind::Cuda,
            tflops,
            verified: true,
            efficiency: None,
            throttle: vec![],
        }
    }

    /// Two nodes of two ranks (rank 3 slow, rank 4 missing); the links of three 8-GPU nodes
    /// (n9 slow) and one 4-GPU node.
    fn report() -> Report {
        Report {
            dir: "results".into(),
            world_size: 5,
            ranks_found: 4,
            launchers: vec!["slurm".into()],
            rules: Rules::default(),
            points: vec![
                point(0, 100.0),
                point(1, 100.0),
                point(2, 100.0),
                point(3, 50.0),
            ],
            flags: vec![Flag {
                rank: 3,
                host: "n1".into(),
                what: "bf16 64×64×64".into(),
                reason: Reason::BelowMedian {
                    tflops: 50.0,
                    median: 100.0,
                },
            }],
            missing: vec![4],
            stragglers: vec![Straggler {
                rank: 2,
                host: "n1".into(),
                why: "interrupted after 1 results".into(),
            }],
            problems: vec![],
            ranks: (0..4)
                .map(|r| {
                    let gpu = RankGpu {
                        host: format!("n{}", r / 2),
                        local_rank: Some(r % 2),
                        device: "H100".to_string(),
                        pci_bus_id: (r == 3).then(|| "00000000:2A:00.0".to_string()),
                    };
                    (r, gpu)
                })
                .collect(),
            links: Compared {
                rows: vec![
                    LinkRow {
                        op: "all_reduce".into(),
                        dtype: "bf16".into(),
                        gpus: 4,
                        bytes: Some(1 << 22),
                        busbw: vec![("n6".into(), 30.0)],
                        median_gbps: 30.0,
                    },
                    LinkRow {
                        op: "all_reduce".into(),
                        dtype: "bf16".into(),
                        gpus: 8,
                        bytes: Some(1 << 22),
                        busbw: vec![
                            ("n7".into(), 100.0),
                            ("n8".into(), 100.0),
                            ("n9".into(), 40.0),
                        ],
                        median_gbps: 100.0,
                    },
                ],
                flags: vec![LinkFlag {
                    host: "n9".into(),
                    op: "all_reduce".into(),
                    dtype: "bf16".into(),
                    gpus: 8,
                    bytes: Some(1 << 22),
                    busbw_gbps: 40.0,
                    median_gbps: 100.0,
                    slowest_pair: None,
                }],
            },
            link_nodes: [("n6", 4), ("n7", 8), ("n8", 8), ("n9", 8)]
                .iter()
                .map(|(h, g)| (h.to_string(), format!("comm-{h}.json"), *g))
                .collect(),
        }
    }

    #[test]
    fn the_report_shows_nodes_flags_gaps_links_and_bad_hosts() {
        let text = render(&report());
        assert!(
            text.starts_with("Cluster report: results (4 rank files of world size 5, launcher slurm; 4 node link files)\n"),
            "{text}"
        );
        // Numbers and their headings line up on the right.
        assert_eq!(
            line(&text, "node  ranks"),
            "node  ranks  device  dtype m×n×k    median TFLOPS  min–max TFLOPS  vs all ranks  flagged"
        );
        assert_eq!(
            line(&text, "n0 "),
            "n0    0–1    H100    bf16 64×64×64          100.0     100.0–100.0         100 %  0"
        );
        assert_eq!(
            line(&text, "n1 "),
            "n1    2–3    H100    bf16 64×64×64          75.00     50.00–100.0          75 %  1 (3)"
        );
        assert_eq!(
            line(&text, "3  n1"),
            "   3  n1    1      H100    00000000:2A:00.0  bf16 64×64×64  50 % of the median over all ranks (50.00 of 100.0 TFLOPS)"
        );
        assert!(text.contains("\nMissing ranks: 4 (no rank file; world size 5)\n"));
        assert!(text.contains("\nStragglers\n  rank 2 (n1): interrupted after 1 results\n"));
        assert!(text.contains(
            "\nLinks inside each node (gpubench comm busbw, measured; threshold 0.90 of the median per GPU count)\n"
        ));
        assert_eq!(
            line(&text, "node  GPUs"),
            "node  GPUs  op          dtype      size  busbw GB/s  vs median  flagged"
        );
        assert_eq!(
            line(&text, "n9 "),
            "n9       8  all_reduce  bf16   4.00 MiB        40.0       40 %  yes"
        );
        // alone with its GPU count: shown, compared with nothing
        assert_eq!(
            line(&text, "n6 "),
            "n6       4  all_reduce  bf16   4.00 MiB        30.0          –"
        );
        assert!(text.contains("\nFlagged links\n  n9 all_reduce bf16 at 4.00 MiB: busbw 40.0 GB/s"));
        assert!(text.ends_with("\nBad hosts: n1 n9\n"), "{text}");
    }

    #[test]
    fn the_pci_bus_column_is_there_only_when_a_flagged_rank_has_one() {
        let text = render(&report());
        assert!(line(&text, "rank  node").contains("  PCI bus  "), "{text}");
        let mut cpu = report();
        for g in cpu.ranks.values_mut() {
            g.pci_bus_id = None;
        }
        let text = render(&cpu);
        assert!(!text.contains("PCI bus"), "{text}");
        assert!(line(&text, "3  n1").starts_with("   3  n1    1      H100    bf16 64×64×64  "));
    }

    #[test]
    fn a_folder_of_link_files_only_says_so() {
        let mut r = report();
        r.ranks_found = 0;
        r.points.clear();
        r.flags.clear();
        r.missing.clear();
        r.stragglers.clear();
        r.links.flags.clear();
        let text = render(&r);
        assert!(
            text.starts_with("Cluster report: results (4 node link files, no rank files)\n"),
            "{text}"
        );
        assert!(!text.contains("Per node"));
        assert!(text.contains("No node's links flagged.\n"));
        assert!(text.ends_with("\nBad hosts: none\n"));
    }
}
