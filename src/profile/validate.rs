//! What a loaded profile must satisfy before anything reads it, and the cleaning of the text it
//! carries before that text reaches a terminal.
//!
//! Why: a profile is a file anyone can edit, truncate or craft. Parsing proves only its shape;
//! a zero dimension made `plot` loop forever, a negative TFLOPS printed as a result, and a
//! device name can carry terminal escape sequences. Every reader loads through here, so a bad
//! field is one line naming the file and the field, and no control character is ever printed.

use serde_json::Value;

use super::Profile;

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
