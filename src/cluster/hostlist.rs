//! Slurm's compressed host lists (`SLURM_JOB_NODELIST=gpu[01-04,07]`), expanded the way
//! Slurm's own `hostlist_create` does, so the first host (the rendezvous host) and the node
//! count agree with what `scontrol show hostnames` prints.
//!
//! The rules, read from Slurm's `src/common/hostlist.c` (`_hostlist_create_bracketed`,
//! `_parse_single_range`, `_push_range_list`):
//! - entries are separated by commas, spaces or tabs; a comma inside brackets separates
//!   ranges, not entries;
//! - `prefix[LIST]` expands each comma-separated item of `LIST`, a number or a range `lo-hi`
//!   (`lo <= hi`, no negative numbers), in the order written;
//! - numbers are zero-padded to the width of `lo` as written: `[08-10]` gives `08 09 10`,
//!   `[8-10]` gives `8 9 10`;
//! - several bracket groups in one name expand as a product, the leftmost varying slowest:
//!   `rack[0-1]-gpu[1-2]` is `rack0-gpu1 rack0-gpu2 rack1-gpu1 rack1-gpu2`;
//! - the last bracket group must end the name: `b-[003-005]x` is refused by Slurm (a name such
//!   as `node01-ib` appears in Slurm's lists uncompressed), so it is refused here too;
//! - duplicates are kept and nothing is sorted (the list is taken as given).
//!
//! Two departures, both for lists Slurm never writes itself: an unclosed `[` is refused (Slurm
//! would take `gpu[01-` as the literal name `gpu[01-]`), and the multi-dimensional `[123x456]`
//! boxes of 3-D torus machines are not expanded.

use std::fmt;

/// The most hosts one list may expand to (Slurm's own limit per range is 65,536).
pub const MAX_HOSTS: usize = 1 << 20;

/// Why a host list could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostlistError(pub String);

impl fmt::Display for HostlistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostlistError {}

fn err(list: &str, why: impl fmt::Display) -> HostlistError {
    HostlistError(format!("host list '{list}': {why}"))
}

/// Expands a Slurm host list into host names, in order.
pub fn expand(list: &str) -> Result<Vec<String>, HostlistError> {
    let mut hosts = Vec::new();
    for entry in entries(list).map_err(|e| err(list, e))? {
        expand_entry(&entry, &mut hosts).map_err(|e| err(list, e))?;
        if hosts.len() > MAX_HOSTS {
            return Err(err(list, format!("expands to more than {MAX_HOSTS} hosts")));
        }
    }
    if hosts.is_empty() {
        return Err(err(list, "names no host"));
    }
    Ok(hosts)
}

/// Splits at commas, spaces and tabs outside brackets; refuses unbalanced brackets.
fn entries(list: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in list.chars() {
        match c {
            '[' => {
                if depth > 0 {
                    return Err("'[' inside brackets".into());
                }
                depth += 1;
                cur.push(c);
            }
            ']' => {
                if depth == 0 {
                    return Err("']' without '['".into());
                }
                depth -= 1;
                cur.push(c);
            }
            ',' | ' ' | '\t' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if depth > 0 {
        return Err("'[' without ']'".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// One entry: plain text and bracket groups alternating; the last group ends the name.
fn expand_entry(entry: &str, hosts: &mut Vec<String>) -> Result<(), String> {
    // Split into literal pieces and bracket groups: lit0 [g0] lit1 [g1] ... litN
    let mut literals = vec![String::new()];
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut rest = entry;
    while let Some(open) = rest.find('[') {
        literals.last_mut().unwrap().push_str(&rest[..open]);
        let close = rest[open..]
            .find(']')
            .map(|c| open + c)
            .ok_or("'[' without ']'")?;
        groups.push(numbers(&rest[open + 1..close])?);
        literals.push(String::new());
        rest = &rest[close + 1..];
    }
    literals.last_mut().unwrap().push_str(rest);
    if !groups.is_empty() && !literals.last().unwrap().is_empty() {
        return Err(format!(
            "'{entry}': text after the last ']' ('{}') is not part of Slurm's host list syntax; a range must end the name",
            literals.last().unwrap()
        ));
    }
    // Product, leftmost group slowest.
    let mut names = vec![literals[0].clone()];
    for (g, lit) in groups.iter().zip(literals.iter().skip(1)) {
        let mut next = Vec::with_capacity(names.len() * g.len());
        for n in &names {
            for v in g {
                next.push(format!("{n}{v}{lit}"));
            }
            if next.len() > MAX_HOSTS {
                return Err(format!("expands to more than {MAX_HOSTS} hosts"));
            }
        }
        names = next;
    }
    hosts.extend(names);
    Ok(())
}

/// The numbers of one bracket group, padded to the width of each range's lower bound.
fn numbers(group: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in group.split(',') {
        let (lo_s, hi_s) = match item.split_once('-') {
            Some((a, b)) => (a, b),
            None => (item, item),
        };
        let parse = |s: &str| -> Result<u64, String> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "'[{group}]': '{item}' is not a number or a range lo-hi"
                ));
            }
            s.parse::<u64>()
                .map_err(|_| format!("'[{group}]': '{s}' is too large"))
        };
        let (lo, hi) = (parse(lo_s)?, parse(hi_s)?);
        if lo > hi {
            return Err(format!("'[{group}]': range {item} runs backwards"));
        }
        if hi - lo >= MAX_HOSTS as u64 {
            return Err(format!("'[{group}]': range {item} is too long"));
        }
        let width = lo_s.len();
        out.extend((lo..=hi).map(|v| format!("{v:0width$}")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(s: &str) -> Vec<String> {
        expand(s).unwrap()
    }

    #[test]
    fn ranges_and_lists_expand_in_order_with_padding() {
        assert_eq!(
            ex("gpu[01-04,07]"),
            ["gpu01", "gpu02", "gpu03", "gpu04", "gpu07"]
        );
        assert_eq!(ex("n[8-10]"), ["n8", "n9", "n10"]);
        assert_eq!(ex("n[08-10]"), ["n08", "n09", "n10"]);
        assert_eq!(ex("n[008-10]"), ["n008", "n009", "n010"]);
        assert_eq!(ex("tux[0-2,12]"), ["tux0", "tux1", "tux2", "tux12"]);
        assert_eq!(ex("node1"), ["node1"]);
        assert_eq!(ex("a,b c\td"), ["a", "b", "c", "d"]);
    }

    #[test]
    fn several_entries_and_groups() {
        assert_eq!(
            ex("a[1-2],b-[003-005]"),
            ["a1", "a2", "b-003", "b-004", "b-005"]
        );
        assert_eq!(
            ex("rack[0-1]-gpu[1-2]"),
            ["rack0-gpu1", "rack0-gpu2", "rack1-gpu1", "rack1-gpu2"]
        );
        assert_eq!(ex("x[3],x[1]"), ["x3", "x1"]);
        assert_eq!(ex("d[1,1]"), ["d1", "d1"]);
    }

    #[test]
    fn what_slurm_refuses_is_refused_with_the_reason() {
        let e = expand("a[1-2],b-[003-005]x").unwrap_err().to_string();
        assert!(e.contains("text after the last ']' ('x')"), "{e}");
        for (bad, why) in [
            ("gpu[04-01]", "runs backwards"),
            ("gpu[01-", "without ']'"),
            ("gpu01]", "without '['"),
            ("gpu[a-b]", "not a number"),
            ("gpu[-3]", "not a number"),
            ("gpu[]", "not a number"),
            ("gpu[1--3]", "not a number"),
            ("", "names no host"),
            (" , ", "names no host"),
            ("g[0-99999999]", "too long"),
        ] {
            let e = expand(bad).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("host list"), "{bad}: {e}");
        }
    }
}
