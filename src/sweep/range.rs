//! Parsing the sizes a sweep visits, refusing nonsense before any device is touched:
//! `start:stop:step` ranges, comma lists, or both (`1024:4096:1024,6144,8192`).
//!
//! Ranges include `stop` when the steps land on it (`1024:4096:1024` is 1024, 2048, 3072,
//! 4096). The number of values is computed before any is generated, so a typo such as
//! `1:2000000000:1` fails at once with a usage error instead of filling memory.

use crate::error::usage;

/// The largest dimension cuBLAS accepts (32-bit signed sizes).
pub const MAX_DIM: u64 = i32::MAX as u64;

/// Parses `--n`/`--m`/`--k` values into a sorted list without repeats. `flag` names the flag
/// in errors; `max_values` bounds how many values one flag may produce.
pub fn parse_values(s: &str, flag: &str, max_values: u64) -> anyhow::Result<Vec<u64>> {
    let t = s.trim();
    if t.is_empty() {
        return Err(usage(format!(
            "{flag}: empty value; give a size (4096), a list (1024,2048) or a range start:stop:step (1024:16384:1024)"
        )));
    }
    let mut count: u64 = 0;
    let mut items = Vec::new();
    for item in t.split(',') {
        let item = item.trim();
        let (start, stop, step) = parse_item(item, flag)?;
        let n = (stop - start) / step + 1;
        count = count.saturating_add(n);
        if count > max_values {
            return Err(too_many(flag, s, count, max_values));
        }
        items.push((start, stop, step));
    }
    let mut out = Vec::with_capacity(count as usize);
    for (start, stop, step) in items {
        let mut v = start;
        while v <= stop {
            out.push(v);
            match v.checked_add(step) {
                Some(next) => v = next,
                None => break,
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn too_many(flag: &str, s: &str, count: u64, max: u64) -> anyhow::Error {
    usage(format!(
        "{flag} {s}: {count} values is more than the limit of {max}; use a larger step or raise --max-points"
    ))
}

/// One comma-separated item: a size, or `start:stop:step`.
fn parse_item(item: &str, flag: &str) -> anyhow::Result<(u64, u64, u64)> {
    let parts: Vec<&str> = item.split(':').map(str::trim).collect();
    match parts.as_slice() {
        [one] => {
            let v = number(one, item, flag, "size")?;
            let v = dim(v, item, flag, "size")?;
            Ok((v, v, 1))
        }
        [start, stop, step] => {
            let (a, b, c) = (
                number(start, item, flag, "start")?,
                number(stop, item, flag, "stop")?,
                number(step, item, flag, "step")?,
            );
            if c <= 0 {
                return Err(usage(format!(
                    "{flag} {item}: step {c} must be a positive whole number, as in 1024:16384:1024"
                )));
            }
            let a = dim(a, item, flag, "start")?;
            if b < a as i128 {
                return Err(usage(format!(
                    "{flag} {item}: stop {b} is below start {a}; write start:stop:step with start ≤ stop, as in 1024:16384:1024"
                )));
            }
            let b = dim(b, item, flag, "stop")?;
            Ok((a, b, c.min(MAX_DIM as i128) as u64))
        }
        _ => Err(usage(format!(
            "{flag} {item}: not a size or a range; write start:stop:step (1024:16384:1024), a list (1024,2048) or one size"
        ))),
    }
}

fn number(s: &str, item: &str, flag: &str, what: &str) -> anyhow::Result<i128> {
    s.parse::<i128>().map_err(|_| {
        usage(format!(
            "{flag} {item}: {what} '{s}' is not a whole number; write start:stop:step, as in 1024:16384:1024"
        ))
    })
}

fn dim(v: i128, item: &str, flag: &str, what: &str) -> anyhow::Result<u64> {
    if v <= 0 {
        return Err(usage(format!(
            "{flag} {item}: {what} {v} must be a positive size, as in 1024:16384:1024"
        )));
    }
    if v > MAX_DIM as i128 {
        return Err(usage(format!(
            "{flag} {item}: {what} {v} is larger than cuBLAS's limit of {MAX_DIM}"
        )));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::is_usage;

    fn ok(s: &str) -> Vec<u64> {
        parse_values(s, "--n", 10_000).unwrap()
    }

    fn err(s: &str) -> String {
        let e = parse_values(s, "--n", 10_000).unwrap_err();
        assert!(is_usage(&e), "{s}: {e}");
        let m = e.to_string();
        assert!(m.starts_with("--n"), "{m}");
        assert!(!m.contains('\n'), "{m}");
        m
    }

    #[test]
    fn ranges_include_stop_when_on_a_step() {
        assert_eq!(ok("1024:4096:1024"), vec![1024, 2048, 3072, 4096]);
        assert_eq!(ok("1000:2500:1000"), vec![1000, 2000]);
        assert_eq!(ok("64:64:8"), vec![64]);
        assert_eq!(ok("1024:16384:1024").len(), 16);
    }

    #[test]
    fn lists_mix_sizes_and_ranges_sorted_without_repeats() {
        assert_eq!(ok("4096,1024,2048"), vec![1024, 2048, 4096]);
        assert_eq!(
            ok("1024:3072:1024, 2048, 8192"),
            vec![1024, 2048, 3072, 8192]
        );
        assert_eq!(ok(" 512 "), vec![512]);
    }

    #[test]
    fn bad_ranges_are_usage_errors() {
        assert!(err("1024:0:0").contains("step 0"));
        assert!(err("5:1:1").contains("stop 1 is below start 5"));
        assert!(err("1:8:0").contains("step 0"));
        assert!(err("1:8:-2").contains("step -2"));
        assert!(err("0:8:1").contains("start 0"));
        assert!(err("8:99999999999:1").contains("limit"));
        assert!(err("1:2:3:4").contains("not a size or a range"));
        assert!(err("1024:x:1").contains("'x'"));
        assert!(err("").contains("empty"));
        assert!(err("1024,,2048").contains("not a whole number"));
        assert!(err("-5").contains("positive"));
    }

    #[test]
    fn too_many_values_fail_before_generating() {
        let e = parse_values("1:2147483647:1", "--k", 10_000).unwrap_err();
        assert!(
            e.to_string().contains("more than the limit of 10000"),
            "{e}"
        );
        let e = parse_values("1:100:1,1:100:1", "--k", 150).unwrap_err();
        assert!(e.to_string().contains("200 values"), "{e}");
    }

    #[test]
    fn huge_step_does_not_overflow() {
        assert_eq!(ok("2147483647:2147483647:2147483647"), vec![2147483647]);
        assert_eq!(ok("1:2147483647:99999999999"), vec![1]);
    }
}
