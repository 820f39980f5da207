//! Collective and point-to-point communication times, so a layout's tensor-, pipeline- and
//! data-parallel traffic costs what the interconnect can carry.
//!
//! Times follow nccl-tests' bus-bandwidth definitions (docs/sources.md §13): for `n` ranks and
//! a buffer of `S` bytes (the full, gathered size), the ring algorithms move
//! - all-reduce: `t = 2(n−1)/n · S / busbw`;
//! - all-gather and reduce-scatter: `t = (n−1)/n · S / busbw`;
//! - send/recv: `t = S / busbw` (bus and algorithm bandwidth are the same).
//!
//! `busbw` comes from a [`BandwidthCurve`] for the [`Scope`] (a measured curve, or the GPU
//! preset's link bandwidth × [`DEFAULT_LINK_EFFICIENCY`]), read at the message size, plus a
//! fixed latency per call. [`Links`] holds one curve per scope: what a measured communication
//! profile replaces, scope by scope.

use serde::Serialize;

/// Fraction of a link's unidirectional bandwidth that NCCL's bus bandwidth is taken to reach at
/// large messages, within a node and between nodes alike. An assumption, not a measurement
/// (docs/sources.md §13): `--link-efficiency` changes it and `--comm-profile` replaces it by
/// measured curves.
pub const DEFAULT_LINK_EFFICIENCY: f64 = 0.8;

/// Latency of one collective within a node, seconds (NCCL's small-message floor over NVLink).
pub const INTRA_NODE_LATENCY_S: f64 = 10e-6;
/// Latency of one collective or transfer between nodes, seconds.
pub const INTER_NODE_LATENCY_S: f64 = 20e-6;

/// Bus bandwidth measured (or assumed) at a few message sizes: `(bytes, busbw GB/s)`,
/// ascending in bytes. Between points it interpolates on log(bytes); outside them it holds
/// the nearest point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandwidthCurve {
    pub points: Vec<(f64, f64)>,
}

impl BandwidthCurve {
    /// A flat curve: the same busbw at every size.
    pub fn flat(busbw_gbps: f64) -> Self {
        BandwidthCurve {
            points: vec![(1.0, busbw_gbps)],
        }
    }

    /// Bus bandwidth in GB/s for a message of `bytes`.
    pub fn busbw_gbps(&self, bytes: f64) -> f64 {
        let p = &self.points;
        let Some(first) = p.first() else {
            return 0.0;
        };
        if bytes <= first.0 {
            return first.1;
        }
        for w in p.windows(2) {
            let ((b0, v0), (b1, v1)) = (w[0], w[1]);
            if bytes <= b1 {
                let f = (bytes.ln() - b0.ln()) / (b1.ln() - b0.ln());
                return v0 + f * (v1 - v0);
            }
        }
        p[p.len() - 1].1
    }
}

/// Where a collective runs, for its curve and latency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub curve: BandwidthCurve,
    pub latency_s: f64,
    /// What the bandwidth is (shown beside the figures).
    pub note: String,
}

impl Link {
    /// A link of `gbps` per direction at `efficiency`, flat in size.
    pub fn from_spec(gbps: f64, efficiency: f64, latency_s: f64, note: String) -> Self {
        Link {
            curve: BandwidthCurve::flat(gbps * efficiency),
            latency_s,
            note,
        }
    }

    fn time(&self, bus_bytes: f64, size: f64) -> f64 {
        let bw = self.curve.busbw_gbps(size) * 1e9;
        if bw <= 0.0 {
            return f64::INFINITY;
        }
        self.latency_s + bus_bytes / bw
    }
}

/// Where a transfer runs: each scope has its own bandwidth curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// All-reduce among GPUs of one node (NVLink).
    IntraAllReduce,
    /// All-gather among GPUs of one node.
    IntraAllGather,
    /// Reduce-scatter among GPUs of one node.
    IntraReduceScatter,
    /// Send/recv between two GPUs of one node.
    IntraSendRecv,
    /// Collectives among GPUs of different nodes, per GPU (its share of the node's network).
    InterNode,
    /// Send/recv between GPUs of different nodes.
    InterSendRecv,
}

impl Scope {
    /// Every scope, in [`Links`] order.
    pub const ALL: [Scope; 6] = [
        Scope::IntraAllReduce,
        Scope::IntraAllGather,
        Scope::IntraReduceScatter,
        Scope::IntraSendRecv,
        Scope::InterNode,
        Scope::InterSendRecv,
    ];

    /// Name in JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            Scope::IntraAllReduce => "intra-node all-reduce",
            Scope::IntraAllGather => "intra-node all-gather",
            Scope::IntraReduceScatter => "intra-node reduce-scatter",
            Scope::IntraSendRecv => "intra-node send/recv",
            Scope::InterNode => "inter-node collectives",
            Scope::InterSendRecv => "inter-node send/recv",
        }
    }
}

/// One [`Link`] per [`Scope`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Links {
    links: Vec<Link>,
}

impl Links {
    /// Every intra-node scope at `intra_gbps`, every inter-node one at `inter_gbps_per_gpu`,
    /// both × `efficiency`, flat in message size.
    pub fn from_spec(
        intra_gbps: f64,
        inter_gbps_per_gpu: f64,
        efficiency: f64,
        intra_note: &str,
        inter_note: &str,
    ) -> Links {
        let links = Scope::ALL
            .iter()
            .map(|s| match s {
                Scope::InterNode | Scope::InterSendRecv => Link::from_spec(
                    inter_gbps_per_gpu,
                    efficiency,
                    INTER_NODE_LATENCY_S,
                    inter_note.to_string(),
                ),
                _ => Link::from_spec(
                    intra_gbps,
                    efficiency,
                    INTRA_NODE_LATENCY_S,
                    intra_note.to_string(),
                ),
            })
            .collect();
        Links { links }
    }

    /// The link of a scope.
    pub fn get(&self, scope: Scope) -> &Link {
        &self.links[Scope::ALL.iter().position(|s| *s == scope).unwrap_or(0)]
    }

    /// Replaces a scope's curve (a measured one), keeping its latency.
    pub fn set_curve(&mut self, scope: Scope, curve: BandwidthCurve, note: String) {
        let i = Scope::ALL.iter().position(|s| *s == scope).unwrap_or(0);
        self.links[i].curve = curve;
        self.links[i].note = note;
    }
}

/// Ring all-reduce of `bytes` over `n` ranks: `2(n−1)/n · S / busbw`.
pub fn all_reduce_s(bytes: f64, n: u64, link: &Link) -> f64 {
    if n <= 1 || bytes <= 0.0 {
        return 0.0;
    }
    let n = n as f64;
    link.time(2.0 * (n - 1.0) / n * bytes, bytes)
}

/// All-gather (or reduce-scatter) whose full buffer is `bytes` over `n` ranks:
/// `(n−1)/n · S / busbw`.
pub fn all_gather_s(bytes: f64, n: u64, link: &Link) -> f64 {
    if n <= 1 || bytes <= 0.0 {
        return 0.0;
    }
    let n = n as f64;
    link.time((n - 1.0) / n * bytes, bytes)
}

/// Reduce-scatter: the same bytes on the wire as an all-gather.
pub fn reduce_scatter_s(bytes: f64, n: u64, link: &Link) -> f64 {
    all_gather_s(bytes, n, link)
}

/// Send/recv of `bytes` between a pair: `S / busbw`.
pub fn send_recv_s(bytes: f64, link: &Link) -> f64 {
    if bytes <= 0.0 {
        return 0.0;
    }
    link.time(bytes, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(gbps: f64) -> Link {
        Link {
            curve: BandwidthCurve::flat(gbps),
            latency_s: 0.0,
            note: String::new(),
        }
    }

    #[test]
    fn nccl_tests_bus_bandwidth_definitions() {
        // 1 GB over 8 ranks at 100 GB/s busbw: all-reduce 2·7/8·1e9/1e11 = 17.5 ms.
        let l = link(100.0);
        assert!((all_reduce_s(1e9, 8, &l) - 0.0175).abs() < 1e-12);
        assert!((all_gather_s(1e9, 8, &l) - 0.00875).abs() < 1e-12);
        assert_eq!(all_gather_s(1e9, 8, &l), reduce_scatter_s(1e9, 8, &l));
        // reduce-scatter + all-gather moves what one all-reduce does (ZeRO, sequence parallel).
        let rs_ag = reduce_scatter_s(1e9, 8, &l) + all_gather_s(1e9, 8, &l);
        assert!((rs_ag - all_reduce_s(1e9, 8, &l)).abs() < 1e-12);
        assert!((send_recv_s(1e9, &l) - 0.01).abs() < 1e-12);
        assert_eq!(all_reduce_s(1e9, 1, &l), 0.0);
    }

    #[test]
    fn latency_is_added_once_per_call() {
        let l = Link::from_spec(300.0, 0.8, 10e-6, "nvlink".into());
        let t = all_reduce_s(8.0, 2, &l);
        assert!((t - (10e-6 + 8.0 / 240e9)).abs() < 1e-15, "{t}");
    }

    #[test]
    fn links_hold_one_curve_per_scope() {
        let mut l = Links::from_spec(300.0, 25.0, 0.8, "nvlink", "ib");
        assert_eq!(l.get(Scope::IntraAllGather).curve.busbw_gbps(1e9), 240.0);
        assert_eq!(l.get(Scope::InterSendRecv).curve.busbw_gbps(1e9), 20.0);
        assert_eq!(l.get(Scope::InterNode).latency_s, INTER_NODE_LATENCY_S);
        let measured = BandwidthCurve {
            points: vec![(1e6, 50.0), (1e9, 180.0)],
        };
        l.set_curve(Scope::IntraAllReduce, measured, "measured".into());
        assert_eq!(l.get(Scope::IntraAllReduce).curve.busbw_gbps(1e9), 180.0);
        assert_eq!(l.get(Scope::IntraAllGather).curve.busbw_gbps(1e9), 240.0);
    }

    #[test]
    fn curve_interpolates_on_log_size_and_clamps() {
        let c = BandwidthCurve {
            points: vec![(1e3, 1.0), (1e6, 100.0), (1e9, 200.0)],
        };
        assert_eq!(c.busbw_gbps(10.0), 1.0);
        assert_eq!(c.busbw_gbps(1e12), 200.0);
        assert!((c.busbw_gbps(1e6) - 100.0).abs() < 1e-9);
        // Halfway in log between 1e6 and 1e9 is ~3.16e7.
        assert!((c.busbw_gbps(10f64.powf(7.5)) - 150.0).abs() < 1e-9);
        assert_eq!(BandwidthCurve { points: vec![] }.busbw_gbps(1.0), 0.0);
    }
}
