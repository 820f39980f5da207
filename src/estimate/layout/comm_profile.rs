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
    let one = (
        origin.to_string(),
        vec![(origin.to_string(), text.to_string())],
    );
    apply_all(&[one], links)
}

/// Replaces in `links` every scope the profiles `--comm-profile` named measure, each a file or
/// a folder of nodes' files (`gpubench comm --results-dir`): `(what it is called, [(file,
/// text)])`. A folder's scope is the median of its nodes; a scope two of them measure is an
/// error, since it is not clear which to use. Returns how many scopes it replaced.
pub fn apply_all(
    sources: &[(String, Vec<(String, String)>)],
    links: &mut Links,
) -> anyhow::Result<usize> {
    let measured = combine(sources)?;
    let n = measured.len();
    for (scope, curve, note) in measured {
        links.set_curve(scope, curve, note);
    }
    Ok(n)
}

/// The curves a profile measures, scope by scope; `origin` names the file in errors.
pub fn parse(text: &str, origin: &str) -> anyhow::Result<Vec<(Scope, BandwidthCurve)>> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| usage(format!("{origin}: not a JSON communication profile ({e})")))?;
    if !is_comm(&root) {
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
    let mut out = Vec::new();
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
        out.push((scope, curve));
    }
    Ok(out)
}

/// Whether a JSON document is a communication profile (`"kind": "comm"`).
fn is_comm(root: &Value) -> bool {
    root.get("kind").and_then(Value::as_str) == Some("comm")
}

/// Several nodes' curves of one scope as one: at every size any of them measured, the median
/// of their bus bandwidths there (each read on its own curve): the pace of a typical node.
pub fn median_curve(curves: &[&BandwidthCurve]) -> BandwidthCurve {
    let mut sizes: Vec<f64> = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    let points = sizes
        .into_iter()
        .map(|b| {
            let v: Vec<f64> = curves.iter().map(|c| c.busbw_gbps(b)).collect();
            (b, crate::stats::Stats::of(&v).map_or(0.0, |s| s.median))
        })
        .collect();
    BandwidthCurve { points }
}

/// Every scope `sources` ([`apply_all`]) measure, with its curve and note.
fn combine(
    sources: &[(String, Vec<(String, String)>)],
) -> anyhow::Result<Vec<(Scope, BandwidthCurve, String)>> {
    let mut out: Vec<(Scope, BandwidthCurve, String)> = Vec::new();
    let mut from: Vec<(Scope, &str)> = Vec::new();
    for (name, files) in sources {
        let mut parsed = Vec::new();
        for (origin, text) in files {
            parsed.push(parse(text, origin)?);
        }
        for scope in Scope::ALL {
            let curves: Vec<&BandwidthCurve> = parsed
                .iter()
                .flat_map(|p| p.iter().filter(|(s, _)| *s == scope).map(|(_, c)| c))
                .collect();
            if curves.is_empty() {
                continue;
            }
            if let Some((_, other)) = from.iter().find(|(s, _)| *s == scope) {
                return Err(usage(format!(
                    "--comm-profile: both {other} and {name} measure {}; give one of them for it",
                    key(scope)
                )));
            }
            from.push((scope, name));
            let note = if curves.len() == 1 {
                format!("measured, {name}")
            } else {
                format!("measured, median of {} nodes in {name}", curves.len())
            };
            out.push((scope, median_curve(&curves), note));
        }
    }
    Ok(out)
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
    fn a_folder_of_nodes_is_their_median_and_a_scope_comes_from_one_place() {
        let node = |bw: f64| {
            format!(
                r#"{{"kind":"comm","curves":{{"intra-all-reduce":[[1e6,{}],[1e9,{bw}]]}}}}"#,
                bw / 4.0
            )
        };
        let folder = (
            "links".to_string(),
            vec![
                ("links/comm-a.json".to_string(), node(200.0)),
                ("links/comm-b.json".to_string(), node(100.0)),
                ("links/comm-c.json".to_string(), node(240.0)),
            ],
        );
        let job = (
            "job.json".to_string(),
            vec![(
                "job.json".to_string(),
                r#"{"kind":"comm","curves":{"inter-node":[[1e6,5],[1e9,23]]}}"#.to_string(),
            )],
        );
        let got = combine(&[folder.clone(), job.clone()]).unwrap();
        assert_eq!(got.len(), 2);
        let (scope, curve, note) = &got[0];
        assert_eq!(*scope, Scope::IntraAllReduce);
        assert_eq!(curve.points, vec![(1e6, 50.0), (1e9, 200.0)]);
        assert_eq!(note, "measured, median of 3 nodes in links");
        assert_eq!(got[1].2, "measured, job.json");
        // Two places for one scope: which to use is not clear.
        let e = combine(&[folder.clone(), folder]).unwrap_err();
        assert!(is_usage(&e));
        assert!(
            e.to_string()
                .contains("both links and links measure intra-all-reduce"),
            "{e}"
        );
    }

    #[test]
    fn the_median_of_curves_reads_each_at_every_size() {
        let a = BandwidthCurve {
            points: vec![(1e6, 10.0), (1e8, 30.0)],
        };
        let b = BandwidthCurve {
            points: vec![(1e6, 20.0), (1e7, 40.0), (1e8, 60.0)],
        };
        let m = median_curve(&[&a, &b]);
        // At 1e7, a reads 20 (halfway on its log scale), b 40.
        assert_eq!(m.points, vec![(1e6, 15.0), (1e7, 30.0), (1e8, 45.0)]);
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
