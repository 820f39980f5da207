//! What a loaded profile must satisfy before anything reads it, and the cleaning of the text it
//! carries before that text reaches a terminal.
//!
//! Why: a profile is a file anyone can edit, truncate or craft. Parsing proves only its shape;
//! a zero dimension made `plot` loop forever, a negative TFLOPS printed as a result, and a
//! device name can carry terminal escape sequences. Every reader loads through here, so a bad
//! field is one line naming the file and the field, and no control character is ever printed.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{AlgoSearch, ClusterInfo, GemmResult, Profile, Telemetry};

/// The fastest product any device could plausibly deliver (TFLOPS): a thousand times the
/// fastest GPU of today. Above it a figure is corrupt, not measured.
const MAX_TFLOPS: f64 = 1e6;

/// Relative slack when a stored figure is checked against the one its samples give.
const SLACK: f64 = 1e-6;

/// Checks every field a reader relies on; the error names the field (`results[3].n`) and what
/// is wrong with it.
pub fn check(p: &Profile) -> Result<(), String> {
    if let Some(planned) = p.planned_results {
        if (planned as usize) < p.results.len() {
            return Err(format!(
                "planned_results is {planned} but the profile holds {} results",
                p.results.len()
            ));
        }
    }
    let s = &p.settings;
    for (name, v) in [("warmup_secs", s.warmup_secs), ("min_secs", s.min_secs)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!("settings.{name} is {v}, not zero or more seconds"));
        }
    }
    for (i, r) in p.results.iter().enumerate() {
        let at = |f: &str| format!("results[{i}].{f}");
        for (name, v) in [("m", r.m), ("n", r.n), ("k", r.k), ("batch", r.batch)] {
            if v == 0 {
                return Err(format!("{} is 0; dimensions are at least 1", at(name)));
            }
        }
        if r.samples_s.is_empty() {
            return Err(format!("{} is empty", at("samples_s")));
        }
        if let Some((j, v)) = r
            .samples_s
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v > 0.0))
        {
            return Err(format!(
                "{}[{j}] is {v}, not a positive time",
                at("samples_s")
            ));
        }
        let st = &r.stats_s;
        if st.count != r.samples_s.len() {
            return Err(format!(
                "{} is {} but there are {} samples",
                at("stats_s.count"),
                st.count,
                r.samples_s.len()
            ));
        }
        let lo = r.samples_s.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = r.samples_s.iter().copied().fold(0.0, f64::max);
        for (name, v) in [
            ("median", st.median),
            ("mean", st.mean),
            ("min", st.min),
            ("max", st.max),
        ] {
            if !(v.is_finite() && v >= lo * (1.0 - SLACK) && v <= hi * (1.0 + SLACK)) {
                return Err(format!(
                    "{} is {v}, outside the samples' range {lo}..{hi} s",
                    at(&format!("stats_s.{name}"))
                ));
            }
        }
        if !(st.stddev.is_finite() && st.stddev >= 0.0) {
            return Err(format!("{} is {}", at("stats_s.stddev"), st.stddev));
        }
        for (name, v) in [
            ("tflops", r.tflops),
            ("tflops_max", r.tflops_max),
            ("tflops_min", r.tflops_min),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= MAX_TFLOPS) {
                return Err(format!(
                    "{} is {v}, not a throughput between 0 and {MAX_TFLOPS} TFLOPS",
                    at(name)
                ));
            }
        }
        let expect = r.shape().flops() / st.median / 1e12;
        if ((r.tflops - expect) / expect).abs() > 1e-3 {
            return Err(format!(
                "{} is {} but 2·m·n·k·batch / median time gives {expect}",
                at("tflops"),
                r.tflops
            ));
        }
        if r.tflops_min > r.tflops * (1.0 + SLACK) || r.tflops_max < r.tflops * (1.0 - SLACK) {
            return Err(format!(
                "{}: tflops_min {} ≤ tflops {} ≤ tflops_max {} does not hold",
                at("tflops"),
                r.tflops_min,
                r.tflops,
                r.tflops_max
            ));
        }
        if let Some(e) = r.efficiency {
            if !(e.is_finite() && e >= 0.0) {
                return Err(format!("{} is {e}", at("efficiency")));
            }
        }
        for (name, v) in [
            ("peak.spec_tflops", r.peak.spec_tflops),
            ("peak.derived_tflops", r.peak.derived_tflops),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0 && v <= MAX_TFLOPS) {
                    return Err(format!("{} is {v}", at(name)));
                }
            }
        }
        let w = &r.warmup;
        if !(w.seconds.is_finite() && w.seconds >= 0.0) {
            return Err(format!("{} is {}", at("warmup.seconds"), w.seconds));
        }
        let v = &r.verification;
        if !(v.tolerance.is_finite() && v.tolerance > 0.0) {
            return Err(format!(
                "{} is {}",
                at("verification.tolerance"),
                v.tolerance
            ));
        }
    }
    Ok(())
}

/// Names the section of a profile that does not parse, with serde's reason: the typed sections
/// a result carries (`results[2].telemetry: missing field `source``), then the whole result
/// (`results[2]: …`), then the `cluster` section. `None` when each of them parses, so the
/// problem is elsewhere and serde's own message says enough.
pub fn locate(profile: &Value) -> Option<String> {
    fn fails<T: DeserializeOwned>(v: &Value) -> Option<String> {
        T::deserialize(v).err().map(|e| e.to_string())
    }
    let results = profile.get("results").and_then(Value::as_array);
    for (i, r) in results.into_iter().flatten().enumerate() {
        for (name, check) in [
            (
                "telemetry",
                fails::<Telemetry> as fn(&Value) -> Option<String>,
            ),
            ("algo_search", fails::<AlgoSearch>),
        ] {
            match r.get(name) {
                None | Some(Value::Null) => {}
                Some(v) => {
                    if let Some(e) = check(v) {
                        return Some(format!("results[{i}].{name}: {e}"));
                    }
                }
            }
        }
        if let Some(e) = fails::<GemmResult>(r) {
            return Some(format!("results[{i}]: {e}"));
        }
    }
    match profile.get("cluster") {
        None | Some(Value::Null) => None,
        Some(v) => fails::<ClusterInfo>(v).map(|e| format!("cluster: {e}")),
    }
}

/// Replaces, in every string of a JSON document, the characters that would act on a terminal
/// rather than print (C0 and C1 controls but tab, DEL, and the bidirectional overrides and
/// isolates that can reorder what is shown) with U+FFFD.
pub fn sanitize(v: &mut Value) {
    match v {
        Value::String(s) if s.chars().any(unsafe_char) => {
            *s = s
                .chars()
                .map(|c| if unsafe_char(c) { '\u{fffd}' } else { c })
                .collect();
        }
        Value::Array(a) => a.iter_mut().for_each(sanitize),
        Value::Object(o) => o.values_mut().for_each(sanitize),
        _ => {}
    }
}

/// Whether `c` must not reach a terminal from a file.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A saved profile with telemetry and an algorithm search, as JSON.
    fn saved() -> Value {
        let text = include_str!("../../results/amd-epyc_fp32-fp64_n2048_20261124-004420.json");
        let mut v: Value = serde_json::from_str(text).unwrap();
        v["results"][0]["telemetry"] = serde_json::json!({
            "source": "nvml", "samples": 3, "power_w_mean": 650.0,
            "throttle_reasons": ["sw_power_cap"]
        });
        v["results"][0]["algo_search"] = serde_json::json!({
            "offered": 2, "timed": 2, "default_tflops": 1.0, "default_valid": true,
            "default_algorithm": null, "best_index": 1, "best_tflops": 1.1,
            "best_algorithm": null, "speedup": 1.1,
            "candidates": [{"index": 0, "algorithm": null, "tflops": 1.0, "valid": true,
                            "max_rel_error": 0.0}]
        });
        v
    }

    #[test]
    fn typed_sections_load_and_round_trip() {
        let v = saved();
        let p = Profile::from_json(&v.to_string(), "p.json").unwrap();
        let t = p.results[0].telemetry.as_ref().unwrap();
        assert_eq!(t.power_w_mean, Some(650.0));
        assert_eq!(t.sm_clock_mhz_mean, None);
        assert_eq!(t.throttle_reasons, ["sw_power_cap"]);
        assert_eq!(p.results[0].algo_search.as_ref().unwrap().best_index, 1);
        let back: Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(back["results"][0]["telemetry"]["power_w_mean"], 650.0);
        assert_eq!(back["results"][0]["algo_search"]["speedup"], 1.1);
        assert_eq!(locate(&v), None);
    }

    #[test]
    fn a_bad_section_is_named() {
        let mut v = saved();
        v["results"][0]["telemetry"]["power_w_mean"] = "650 W".into();
        let e = Profile::from_json(&v.to_string(), "p.json").unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.starts_with("p.json: malformed profile: results[0].telemetry: invalid type"),
            "{e}"
        );
        let mut v = saved();
        v["results"][0]["algo_search"]
            .as_object_mut()
            .unwrap()
            .remove("best_tflops");
        let e = format!(
            "{:#}",
            Profile::from_json(&v.to_string(), "p.json").unwrap_err()
        );
        assert!(
            e.contains("results[0].algo_search: missing field `best_tflops`"),
            "{e}"
        );
        let mut v = saved();
        v["results"][0]["m"] = (-1).into();
        let e = format!(
            "{:#}",
            Profile::from_json(&v.to_string(), "p.json").unwrap_err()
        );
        assert!(
            e.contains("malformed profile: results[0]: invalid value"),
            "{e}"
        );
    }

    #[test]
    fn escapes_and_bidi_controls_are_replaced() {
        let mut v = serde_json::json!({
            "device": {"name": "GPU\u{1b}[2J\u{202e}evil\u{9b}"},
            "list": ["ok\ttab", "bell\u{7}"],
            "n": 3
        });
        sanitize(&mut v);
        assert_eq!(v["device"]["name"], "GPU\u{fffd}[2J\u{fffd}evil\u{fffd}");
        assert_eq!(v["list"][0], "ok\ttab");
        assert_eq!(v["list"][1], "bell\u{fffd}");
        assert_eq!(v["n"], 3);
    }
}
