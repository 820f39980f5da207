//! Keeps the modules of `src/` in layers: the tests read every `crate::` path in `src/` and
//! fail when a top-level module imports one above it in [`ORDER`], or can reach itself again.
//!
//! Why: a cycle lets a change anywhere in it ripple everywhere in it, and a written order
//! tells a newcomer where new code goes. A module imports only modules below it:
//!
//! 1. the leaves `error`, `dtype`, `stats`, `units` (number formats included), `peak`;
//! 2. `backend` → `profile` → `telemetry` → `measure`: devices and measuring;
//! 3. `model` → `estimate`: the planning formulas, which render nothing;
//! 4. `calibrate` (builds on the formulas) and `sweep`;
//! 5. `cluster` → `comm`: a job's ranks and nodes, and the links between GPUs;
//! 6. `output`: every terminal view of what the layers below compute, then `export`;
//! 7. `cli` → `commands`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every top-level module of `src/`, lowest first: a module may import only modules before
/// it. A new module goes where its imports put it.
const ORDER: [&str; 19] = [
    "error",
    "stats",
    "dtype",
    "units",
    "peak",
    "backend",
    "profile",
    "telemetry",
    "measure",
    "model",
    "estimate",
    "calibrate",
    "sweep",
    "cluster",
    "comm",
    "output",
    "export",
    "cli",
    "commands",
];

/// Top-level module of a file under `src/` (`backend/cuda/gemm.rs` → `backend`).
fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its test-only part (everything after the first
/// `#[cfg(test)]`, where gpubench keeps its `mod tests`) and without comments, and the names
/// of the submodules it declares test-only (`#[cfg(test)] mod testing;`).
fn code_of(text: &str) -> (String, Vec<String>) {
    let mut test_only = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut code = String::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t == "#[cfg(test)]" {
            let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or("");
            let decl = next.strip_prefix("pub ").unwrap_or(next);
            match decl.strip_prefix("mod ").and_then(|d| d.strip_suffix(';')) {
                Some(name) => {
                    test_only.push(name.to_string());
                    continue;
                }
                None => break,
            }
        }
        if t.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    (code, test_only)
}

/// The modules a piece of code names through `crate::a` or `crate::{a, b::c}`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = item.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() {
                    out.insert(name.to_string());
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

/// `module → modules it imports` over `src/` (lib.rs and main.rs left out).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    let mut code: BTreeMap<PathBuf, String> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
        let (c, tests) = code_of(&text);
        let dir = if f
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs")
        {
            f.parent().unwrap().to_path_buf()
        } else {
            f.with_extension("")
        };
        for t in tests {
            test_only.insert(dir.join(format!("{t}.rs")));
            test_only.insert(dir.join(&t).join("mod.rs"));
        }
        code.insert(f.clone(), c);
    }
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| top_module(f.strip_prefix(&src).unwrap()))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (f, c) in &code {
        let from = top_module(f.strip_prefix(&src).unwrap());
        if !modules.contains(&from) || test_only.contains(f) {
            continue;
        }
        let entry = g.entry(from.clone()).or_default();
        for to in named_modules(c) {
            if to != from && modules.contains(&to) {
                entry.insert(to);
            }
        }
    }
    g
}

/// The modules `from` reaches through `g`.
fn reachable(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(m) = stack.pop() {
        for n in g.get(&m).into_iter().flatten() {
            if seen.insert(n.clone()) {
                stack.push(n.clone());
            }
        }
    }
    seen
}

/// A shortest path `from → … → to` through `g`, for the failure message.
fn path(g: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> Vec<String> {
    let mut prev: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from.to_string()]);
    while let Some(m) = queue.pop_front() {
        for n in g.get(&m).into_iter().flatten() {
            if n == to {
                let mut p = vec![n.clone(), m.clone()];
                let mut at = m.clone();
                while let Some(q) = prev.get(&at) {
                    p.push(q.clone());
                    at = q.clone();
                }
                if at != from {
                    p.push(from.to_string());
                }
                p.reverse();
                return p;
            }
            if !prev.contains_key(n) && n != from {
                prev.insert(n.clone(), m.clone());
                queue.push_back(n.clone());
            }
        }
    }
    Vec::new()
}

#[test]
fn no_module_is_in_an_import_cycle() {
    let g = graph();
    assert!(g.len() > 10, "too few modules found under src/: {g:?}");
    for m in g.keys() {
        if reachable(&g, m).contains(m) {
            panic!(
                "import cycle through the module {m}: {}; move the shared code down a layer (see src/module_cycles.rs)",
                path(&g, m, m).join(" → ")
            );
        }
    }
}

#[test]
fn every_import_goes_down_the_layers() {
    let g = graph();
    let rank = |m: &str| ORDER.iter().position(|o| *o == m);
    for (from, tos) in &g {
        let Some(f) = rank(from) else {
            panic!("module {from} is not in ORDER in src/module_cycles.rs: add it above the modules that import it");
        };
        for to in tos {
            let t = rank(to).unwrap_or_else(|| {
                panic!("module {to} is not in ORDER in src/module_cycles.rs: add it above the modules that import it")
            });
            assert!(
                t < f,
                "{from} imports {to}, which sits above it in ORDER (src/module_cycles.rs): move the shared code down, or move {to} below {from} if that keeps every other import going down"
            );
        }
    }
}

#[test]
fn the_reader_sees_imports_and_skips_tests_and_comments() {
    let text = "//! crate::nope\nuse crate::{backend::X, dtype};\nlet a = crate::peak::f();\nlet b = my_crate::units;\n#[cfg(test)]\npub mod testing;\n#[cfg(test)]\nmod tests { use crate::sweep; }\n";
    let (code, tests) = code_of(text);
    assert_eq!(tests, ["testing"]);
    let names: Vec<String> = named_modules(&code).into_iter().collect();
    assert_eq!(names, ["backend", "dtype", "peak"]);
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert!(reachable(&g, "a").contains("a"));
    assert!(!reachable(&g, "d").contains("d"));
    assert_eq!(path(&g, "a", "a"), ["a", "b", "c", "a"]);
}
