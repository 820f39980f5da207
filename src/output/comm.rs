//! `gpubench comm` as text, nccl-tests style: one line per collective and message size
//! (size, element count, time, algbw and busbw, all measured), then the NCCL library, the
//! GPUs and the slowest send/recv pair.

use crate::comm::measure::{Measured, Point};

/// The heading of the table of points.
pub fn header() -> String {
    format!(
        "{:>12} {:>12} {:>15} {:>5} {:>11} {:>11} {:>11}\n",
        "size", "count", "op", "type", "time (us)", "algbw GB/s", "busbw GB/s"
    )
}

/// One measured point as a line of the table.
pub fn row(p: &Point) -> String {
    format!(
        "{:>12} {:>12} {:>15} {:>5} {:>11.2} {:>11.2} {:>11.2}\n",
        p.bytes,
        p.count,
        p.op.name(),
        p.dtype.name(),
        p.time_us,
        p.algbw_gbps,
        p.busbw_gbps
    )
}

/// What ran where, under the table: NCCL's version and library, the ranks and their GPUs,
/// and the slowest send/recv pair when pairs were measured; fitted to 100 columns.
pub fn summary(m: &Measured) -> String {
    let mut out = format!(
        "NCCL {} ({}), every result checked\n{} rank(s){}: {}\n",
        m.nccl_version,
        m.nccl_library,
        m.world,
        if m.devices.len() < m.world as usize {
            if m.one_host {
                ", one process each, one host"
            } else {
                ", one process each, several hosts"
            }
        } else {
            ""
        },
        m.devices.join(", ")
    );
    if let Some(worst) = m
        .pairs
        .iter()
        .min_by(|a, b| a.busbw_gbps.total_cmp(&b.busbw_gbps))
    {
        out.push_str(&format!(
            "slowest send/recv pair: {} -> {} at {:.2} GB/s ({} B)\n",
            worst.from, worst.to, worst.busbw_gbps, worst.bytes
        ));
    }
    super::format::fit_text(&out, super::table::DEFAULT_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::busbw::Op;
    use crate::comm::measure::{Elem, Pair};

    fn point() -> Point {
        Point {
            op: Op::AllReduce,
            dtype: Elem::Bf16,
            bytes: 1 << 20,
            count: 1 << 19,
            time_us: 315.567,
            algbw_gbps: 3.3228,
            busbw_gbps: 4.9843,
            slowest_rank: 0,
        }
    }

    #[test]
    fn the_table_lines_up_as_nccl_tests_does() {
        assert_eq!(
            header(),
            "        size        count              op  type   time (us)  algbw GB/s  busbw GB/s\n"
        );
        assert_eq!(
            row(&point()),
            "     1048576       524288      all_reduce  bf16      315.57        3.32        4.98\n"
        );
        assert_eq!(header().chars().count(), row(&point()).chars().count());
    }

    #[test]
    fn the_summary_names_the_ranks_and_the_slowest_pair() {
        let pair = |to: &str, bw| Pair {
            from: "rank 0".into(),
            to: to.into(),
            bytes: 1 << 22,
            busbw_gbps: bw,
        };
        let mut m = Measured {
            world: 4,
            one_host: false,
            nccl_version: "2.28.7".into(),
            nccl_library: "libnccl.so.2".into(),
            devices: vec!["cuda:0 H100".into()],
            points: vec![point()],
            pairs: vec![pair("rank 1", 40.0), pair("rank 2", 12.3)],
        };
        assert_eq!(
            summary(&m),
            "NCCL 2.28.7 (libnccl.so.2), every result checked\n\
             4 rank(s), one process each, several hosts: cuda:0 H100\n\
             slowest send/recv pair: rank 0 -> rank 2 at 12.30 GB/s (4194304 B)\n"
        );
        m.one_host = true;
        m.pairs.clear();
        m.devices = (0..4).map(|i| format!("cuda:{i} H100")).collect();
        assert_eq!(
            summary(&m),
            "NCCL 2.28.7 (libnccl.so.2), every result checked\n\
             4 rank(s): cuda:0 H100, cuda:1 H100, cuda:2 H100, cuda:3 H100\n"
        );
        // Eight GPUs with their full names wrap within 100 columns.
        m.devices = (0..8)
            .map(|i| format!("cuda:{i} NVIDIA H100 80GB HBM3"))
            .collect();
        let s = summary(&m);
        assert!(s.lines().all(|l| l.chars().count() <= 100), "{s}");
        assert!(s.lines().nth(2).unwrap().starts_with("  cuda:"), "{s}");
    }
}
