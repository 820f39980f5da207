//! The communication profile `gpubench comm` saves: nccl-tests' bus-bandwidth curves under
//! the scope names `gpubench estimate --comm-profile` reads
//! (`estimate::layout::comm_profile`), plus every measured point and where it came from.

use serde_json::{json, Value};

use super::busbw::Op;
use super::measure::{Elem, Measured};

/// Where the ranks were: one process driving a node's GPUs, or ranks across nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// One node (NVLink / PCIe between the GPUs): the `intra-*` scopes.
    Node,
    /// Across nodes (the network): `inter-node` (all_reduce) and `inter-send-recv`.
    Nodes,
}

/// The profile scope an operation's curve fills, if any (broadcast has none).
pub fn scope(op: Op, span: Span) -> Option<&'static str> {
    match (span, op) {
        (Span::Node, Op::AllReduce) => Some("intra-all-reduce"),
        (Span::Node, Op::AllGather) => Some("intra-all-gather"),
        (Span::Node, Op::ReduceScatter) => Some("intra-reduce-scatter"),
        (Span::Node, Op::SendRecv) => Some("intra-send-recv"),
        (Span::Nodes, Op::AllReduce) => Some("inter-node"),
        (Span::Nodes, Op::SendRecv) => Some("inter-send-recv"),
        _ => None,
    }
}

/// The profile as JSON. Curves come from `curve_dtype` (the first dtype measured); points of
/// zero time (none on a real GPU) are left out of the curves, which must be positive.
pub fn to_json(m: &Measured, span: Span, curve_dtype: Elem, created: &str) -> Value {
    let mut curves = serde_json::Map::new();
    for op in Op::ALL {
        let Some(key) = scope(op, span) else { continue };
        let pts: Vec<Value> = m
            .points
            .iter()
            .filter(|p| p.op == op && p.dtype == curve_dtype && p.busbw_gbps > 0.0)
            .map(|p| json!([p.bytes, p.busbw_gbps]))
            .collect();
        if !pts.is_empty() {
            curves.insert(key.into(), Value::Array(pts));
        }
    }
    json!({
        "kind": "comm",
        "version": 1,
        "created": created,
        "tool": format!("gpubench {}", env!("CARGO_PKG_VERSION")),
        "nccl": {"version": m.nccl_version, "library": m.nccl_library},
        "devices": m.devices,
        "ranks": m.world,
        "span": match span { Span::Node => "node", Span::Nodes => "nodes" },
        "curve_dtype": curve_dtype.name(),
        "curves": Value::Object(curves),
        "points": m.points,
        "pairs": m.pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::measure::Point;
    use crate::estimate::layout::comm::{Links, Scope};

    #[test]
    fn the_estimate_reads_what_comm_writes() {
        let pt = |op, bytes, busbw| Point {
            op,
            dtype: Elem::Bf16,
            bytes,
            count: bytes / 2,
            time_us: 1.0,
            algbw_gbps: busbw,
            busbw_gbps: busbw,
            slowest_rank: 0,
        };
        let m = Measured {
            world: 2,
            one_host: true,
            nccl_version: "2.28.7".into(),
            nccl_library: "libnccl.so.2".into(),
            devices: vec!["cuda:0 A".into(), "cuda:1 A".into()],
            points: vec![
                pt(Op::AllReduce, 1 << 20, 50.0),
                pt(Op::AllReduce, 1 << 30, 180.0),
                pt(Op::Broadcast, 1 << 30, 170.0),
                pt(Op::SendRecv, 1 << 30, 150.0),
            ],
            pairs: vec![],
        };
        let text = to_json(&m, Span::Node, Elem::Bf16, "now").to_string();
        let mut l = Links::from_spec(300.0, 25.0, 0.8, "nvlink", "ib");
        let n = crate::estimate::layout::comm_profile::apply(&text, "c.json", &mut l).unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            l.get(Scope::IntraAllReduce).curve.busbw_gbps(1073741824.0),
            180.0
        );
        assert_eq!(
            l.get(Scope::IntraSendRecv).curve.busbw_gbps(1073741824.0),
            150.0
        );
        let text = to_json(&m, Span::Nodes, Elem::Bf16, "now").to_string();
        let mut l = Links::from_spec(300.0, 25.0, 0.8, "nvlink", "ib");
        crate::estimate::layout::comm_profile::apply(&text, "c.json", &mut l).unwrap();
        assert_eq!(
            l.get(Scope::InterNode).curve.busbw_gbps(1073741824.0),
            180.0
        );
    }
}
