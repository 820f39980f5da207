//! Measured bus-bandwidth curves for a layout estimate (`--comm-profile FILE`), so the
//! communication terms can rest on what a cluster's collectives really reached instead of
//! the GPU table's link figures × an efficiency.
//!
//! The file is a JSON object with `"kind": "comm"` and `curves`, one entry per scope it
//! measured, each a list of `[bytes, busbw GB/s]` pairs (nccl-tests' bus bandwidth, ascending in
//! bytes); scopes it leaves out keep the GPU table's figures:
//!
//! ```json
//! {"kind": "comm",
//!  "curves": {"intra-all-reduce": [[1048576, 80.0], [1073741824, 230.0]],
//!             "inter-node": [[1048576, 5.0], [1073741824, 23.0]]}}
//! ```
//!
//! Scope names: `intra-all-reduce`, `intra-all-gather`, `intra-reduce-scatter`,
//! `intra-send-recv`, `inter-node` (collectives, per GPU), `inter-send-recv`.

use serde_json::Value;

use super::comm::{BandwidthCurve, Links, Scope};
use crate::error::usage;

/// The key a scope has in a profile's `curves`.
pub fn key(scope: Scope) -> &'static str {
    match scope {
        Scope::IntraAllReduce => "intra-all-reduce",
        Scope::IntraAllGather => "intra-all-gather",
        Scope::IntraReduceScatter => "intra-reduce-scatter",
        Scope::IntraSendRecv => "intra-send-recv",
        Scope::InterNode => "inter-node",
        Scope::InterSendRecv => "inter-send-recv",
    }
}

/// Replaces the scopes `text` measures in `links`; `origin` names the file in errors (one line
/// naming the problem and the fix). Returns how many scopes it replaced.
pub fn apply(text: &str, origin: &str, links: &mut Links) -> anyhow::Result<usize> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| usage(format!("{origin}: not a JSON communication profile ({e})")))?;
    if root.get("kind").and_then(Value::as_str) != Some("comm") {
        return Err(usage(format!(
            "{origin}: not a communication profile (it needs \"kind\": \"comm\")"
        )));
    }
    let Some(curves) = root.get("curves").and_then(Value::as_object) else {
        return Err(usage(format!(
            "{origin}: a communication profile needs \"curves\": {{scope: [[bytes, busbw GB/s], ...]}}"
        )));
    };
    let known: Vec<&str> = Scope::ALL.iter().map(|s| key(*s)).collect();
    for name in curves.keys() {
        if !known.contains(&name.as_str()) {
            return Err(usage(format!(
                "{origin}: unknown scope '{name}'; use {}",
                known.join(", ")
            )));
        }
    }
    let mut n = 0;
    for scope in Scope::ALL {
        let Some(v) = curves.get(key(scope)) else {
            continue;
        };
        let curve = parse_curve(v).map_err(|why| {
            usage(format!(
                "{origin}: curves.{}: {why}; give [[bytes, busbw GB/s], ...] with positive numbers, bytes ascending",
                key(scope)
            ))
        })?;
        links.set_curve(scope, curve, format!("measured, {origin}"));
        n += 1;
    }
    Ok(n)
}

fn parse_curve(v: &Value) -> Result<BandwidthCurve, String> {
    let arr = v.as_array().ok_or("not a list")?;
    if arr.is_empty() {
        return Err("no points".into());
    }
    let mut points = Vec::with_capacity(arr.len());
    for (i, p) in arr.iter().enumerate() {
        let pair = p
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or(format!("point {i} is not a [bytes, busbw] pair"))?;
        let (b, bw) = (pair[0].as_f64(), pair[1].as_f64());
        let (Some(b), Some(bw)) = (b, bw) else {
            return Err(format!("point {i} is not two numbers"));
        };
        if !(b.is_finite() && bw.is_finite() && b > 0.0 && bw > 0.0) {
            return Err(format!("point {i} is not positive"));
        }
        if points.last().is_some_and(|(pb, _)| *pb >= b) {
            return Err(format!(
                "point {i} is not larger in bytes than the one before"
            ));
        }
        points.push((b, bw));
    }
    Ok(BandwidthCurve { points })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::is_usage;

    fn base() -> Links {
        Links::from_spec(300.0, 25.0, 0.8, "nvlink", "ib")
    }

    #[test]
    fn replaces_only_the_measured_scopes() {
        let mut l = base();
        let text = r#"{"kind":"comm","curves":{"intra-all-reduce":[[1e6,80],[1e9,230]],
            "inter-node":[[1e6,5],[1e9,23]]}}"#;
        assert_eq!(apply(text, "c.json", &mut l).unwrap(), 2);
        assert_eq!(l.get(Scope::IntraAllReduce).curve.busbw_gbps(1e9), 230.0);
        assert_eq!(l.get(Scope::InterNode).curve.busbw_gbps(1e6), 5.0);
        assert!(l.get(Scope::InterNode).note.contains("c.json"));
        assert_eq!(l.get(Scope::IntraAllGather).curve.busbw_gbps(1e9), 240.0);
    }

    #[test]
    fn bad_profiles_are_usage_errors() {
        for (text, want) in [
            ("nope", "not a JSON"),
            (r#"{"kind":"run"}"#, "not a communication profile"),
            (r#"{"kind":"comm"}"#, "needs \"curves\""),
            (
                r#"{"kind":"comm","curves":{"nvlink":[[1,1]]}}"#,
                "unknown scope 'nvlink'",
            ),
            (r#"{"kind":"comm","curves":{"inter-node":[]}}"#, "no points"),
            (
                r#"{"kind":"comm","curves":{"inter-node":[[1,-1]]}}"#,
                "not positive",
            ),
            (
                r#"{"kind":"comm","curves":{"inter-node":[[2,1],[1,1]]}}"#,
                "not larger",
            ),
            (r#"{"kind":"comm","curves":{"inter-node":[[1]]}}"#, "pair"),
        ] {
            let e = apply(text, "c.json", &mut base()).unwrap_err();
            assert!(is_usage(&e), "{text}");
            let m = e.to_string();
            assert!(
                m.contains(want) && m.starts_with("c.json: ") && !m.contains('\n'),
                "{m}"
            );
        }
    }
}
