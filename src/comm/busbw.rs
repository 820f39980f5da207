//! nccl-tests' bandwidth arithmetic, kept pure so it is unit-tested: the message sizes a run
//! measures, the element counts each collective takes for a size, and algorithm and bus
//! bandwidth (docs/comm.md explains the factors).

use serde::Serialize;

/// The operations `gpubench comm` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Op {
    AllReduce,
    AllGather,
    ReduceScatter,
    Broadcast,
    SendRecv,
}

impl Op {
    pub const ALL: [Op; 5] = [
        Op::AllReduce,
        Op::AllGather,
        Op::ReduceScatter,
        Op::Broadcast,
        Op::SendRecv,
    ];

    /// The name nccl-tests and this tool print (`all_reduce`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Op::AllReduce => "all_reduce",
            Op::AllGather => "all_gather",
            Op::ReduceScatter => "reduce_scatter",
            Op::Broadcast => "broadcast",
            Op::SendRecv => "send_recv",
        }
    }

    /// nccl-tests' bus-bandwidth factor for `n` ranks: busbw = algbw × factor, so that busbw
    /// compares with the link's bandwidth whatever the rank count.
    pub fn bus_factor(self, n: u32) -> f64 {
        let n = n.max(1) as f64;
        match self {
            Op::AllReduce => 2.0 * (n - 1.0) / n,
            Op::AllGather | Op::ReduceScatter => (n - 1.0) / n,
            Op::Broadcast | Op::SendRecv => 1.0,
        }
    }

    /// Elements per call for a message of about `bytes` bytes over `n` ranks, in nccl-tests'
    /// convention (the size is the whole output of all_gather and the whole input of
    /// reduce_scatter, so the per-rank count is size / (n × element size)); 0 when the size is
    /// too small to give each rank one element.
    pub fn count(self, bytes: u64, elem: u64, n: u32) -> u64 {
        match self {
            Op::AllGather | Op::ReduceScatter => bytes / (elem * n.max(1) as u64),
            _ => bytes / elem,
        }
    }

    /// The message size nccl-tests reports for `count` elements per call.
    pub fn size(self, count: u64, elem: u64, n: u32) -> u64 {
        match self {
            Op::AllGather | Op::ReduceScatter => count * elem * n.max(1) as u64,
            _ => count * elem,
        }
    }
}

/// Algorithm bandwidth in GB/s (10⁹ bytes per second): size / time.
pub fn algbw_gbps(size: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        return 0.0;
    }
    size as f64 / seconds / 1e9
}

/// Bus bandwidth in GB/s: algbw × the operation's factor.
pub fn busbw_gbps(op: Op, n: u32, size: u64, seconds: f64) -> f64 {
    algbw_gbps(size, seconds) * op.bus_factor(n)
}

/// Sizes from `min` to `max` (inclusive), each `factor` times the one before (nccl-tests'
/// `-b -e -f`). `factor` is at least 2, `min` at least 1; checked by the caller.
pub fn sizes(min: u64, max: u64, factor: u64) -> Vec<u64> {
    let mut v = Vec::new();
    let mut s = min.max(1);
    while s <= max {
        v.push(s);
        match s.checked_mul(factor.max(2)) {
            Some(n) => s = n,
            None => break,
        }
    }
    v
}

/// Parses a byte count as nccl-tests takes it: a whole number with an optional binary suffix
/// `K`, `M`, `G` (`8`, `64K`, `8G`).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&t[..t.len() - 1], 1 << 20),
        Some('g' | 'G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let v: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a byte count; give e.g. 8, 64K, 1M or 8G"))?;
    if v == 0 {
        return Err(format!("'{s}' must be at least 1 byte"));
    }
    v.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_are_nccl_tests() {
        assert_eq!(Op::AllReduce.bus_factor(8), 1.75);
        assert_eq!(Op::AllReduce.bus_factor(2), 1.0);
        assert_eq!(Op::AllGather.bus_factor(4), 0.75);
        assert_eq!(Op::ReduceScatter.bus_factor(4), 0.75);
        assert_eq!(Op::Broadcast.bus_factor(8), 1.0);
        assert_eq!(Op::SendRecv.bus_factor(8), 1.0);
        assert_eq!(Op::AllReduce.bus_factor(1), 0.0);
    }

    #[test]
    fn bandwidths() {
        // 1 GB all_reduce over 8 ranks in 10 ms: algbw 100 GB/s, busbw 175 GB/s
        assert!((algbw_gbps(1_000_000_000, 0.01) - 100.0).abs() < 1e-9);
        assert!((busbw_gbps(Op::AllReduce, 8, 1_000_000_000, 0.01) - 175.0).abs() < 1e-9);
        assert_eq!(algbw_gbps(10, 0.0), 0.0);
    }

    #[test]
    fn counts_follow_the_size_convention() {
        assert_eq!(Op::AllReduce.count(1024, 4, 4), 256);
        assert_eq!(Op::AllGather.count(1024, 4, 4), 64);
        assert_eq!(Op::AllGather.size(64, 4, 4), 1024);
        assert_eq!(Op::ReduceScatter.count(8, 4, 4), 0);
        assert_eq!(Op::SendRecv.size(3, 2, 8), 6);
    }

    #[test]
    fn sizes_double() {
        assert_eq!(sizes(8, 64, 2), vec![8, 16, 32, 64]);
        assert_eq!(sizes(8, 100, 4), vec![8, 32]);
        assert_eq!(sizes(8, 8 << 30, 2).len(), 31);
        assert!(sizes(16, 8, 2).is_empty());
    }

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("8").unwrap(), 8);
        assert_eq!(parse_bytes("64K").unwrap(), 65536);
        assert_eq!(parse_bytes("8G").unwrap(), 8 << 30);
        assert!(parse_bytes("0").unwrap_err().contains("at least 1"));
        assert!(parse_bytes("x").unwrap_err().contains("not a byte count"));
    }
}
