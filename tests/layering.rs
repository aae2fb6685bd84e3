//! The module table in ARCHITECTURE.md is the rule for who may import whom; this test reads the
//! table and the library's sources and fails on any import the table does not allow, on a cycle
//! in the table, on FFmpeg, ONNX Runtime or egui used outside the one module that owns it, and
//! on two files of one module that import each other.
//! Test code (`#[cfg(test)] mod` blocks, `tests.rs` files) is exempt: tests may reach across.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// External crates that exactly one module may use.
const OWNED_CRATES: &[(&str, &str)] = &[
    ("ffmpeg_next", "video"),
    ("ort", "model"),
    ("egui", "gui"),
    ("eframe", "gui"),
    ("egui_plot", "gui"),
    ("rfd", "gui"),
];

/// Module name → the modules it may import, from the table under "## Modules".
fn table(architecture: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut rules = BTreeMap::new();
    for line in architecture.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() != 4 || cells[0] == "module" || cells[0].starts_with("---") {
            continue;
        }
        // `name/` rows are library modules; the binary's row names files and may import anything.
        let Some(name) = backticked(cells[0])
            .into_iter()
            .find_map(|w| w.strip_suffix('/').map(String::from))
        else {
            continue;
        };
        let allowed: BTreeSet<String> = backticked(cells[2]).into_iter().collect();
        rules.insert(name, allowed);
    }
    rules
}

fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

/// The source a module ships: comments removed, test modules cut off.
fn shipped_source(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let code = line.split("//").next().unwrap_or("");
        if code.trim() == "#[cfg(test)]" {
            let next = lines.peek().map(|l| l.trim_start()).unwrap_or("");
            if next.starts_with("mod ")
                || next.starts_with("pub mod ")
                || next.starts_with("pub(crate) mod ")
            {
                // Test modules sit at the end of a file by the project's habit; the rest is tests.
                if next.ends_with('{') {
                    break;
                }
                // `#[cfg(test)] mod tests;` names a file of tests: skip just that line.
                lines.next();
                continue;
            }
        }
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The vigil modules a piece of source names through `crate::…`, groups included.
fn crate_modules(src: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = src;
    while let Some(i) = rest.find("crate::") {
        let before_ok = rest[..i].chars().next_back().is_none_or(|c| !is_ident(c));
        rest = &rest[i + "crate::".len()..];
        if !before_ok {
            continue;
        }
        let tail = rest.trim_start();
        if let Some(group) = tail.strip_prefix('{') {
            // `crate::{a::x, b::{y, z}, c}`: the first name of each top-level item.
            let mut depth = 0usize;
            for item in group.split_inclusive([',', '{', '}']) {
                let word: String = item
                    .trim_start()
                    .chars()
                    .take_while(|&c| is_ident(c))
                    .collect();
                if depth == 0 && !word.is_empty() {
                    found.insert(word);
                }
                if item.ends_with('{') {
                    depth += 1;
                } else if item.ends_with('}') {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
            }
        } else {
            let word: String = tail.chars().take_while(|&c| is_ident(c)).collect();
            if !word.is_empty() {
                found.insert(word);
            }
        }
    }
    found
}

/// Whether `src` uses the external crate `name` (`name::…` or `use name`).
fn uses_crate(src: &str, name: &str) -> bool {
    let mut rest = src;
    while let Some(i) = rest.find(name) {
        let before_ok = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !is_ident(c) && c != ':');
        let after = &rest[i + name.len()..];
        if before_ok
            && (after.starts_with("::") || after.starts_with(" as ") || after.starts_with(';'))
        {
            return true;
        }
        rest = after;
    }
    false
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

fn violations(root: &Path, rules: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut bad = Vec::new();
    for (module, allowed) in rules {
        let dir = root.join("src").join(module);
        if !dir.is_dir() {
            bad.push(format!(
                "ARCHITECTURE.md names `{module}/`, which src/ does not have"
            ));
            continue;
        }
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            let src = shipped_source(&text);
            let shown = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            for used in crate_modules(&src) {
                if used != *module && rules.contains_key(&used) && !allowed.contains(&used) {
                    bad.push(format!(
                        "{shown}: `{module}` imports `{used}`, which the table does not allow"
                    ));
                }
            }
            for (krate, owner) in OWNED_CRATES {
                if owner != module && uses_crate(&src, krate) {
                    bad.push(format!(
                        "{shown}: uses `{krate}`, which only `{owner}` may use"
                    ));
                }
            }
        }
    }
    let binary = std::fs::read_to_string(root.join("src/main.rs")).expect("src/main.rs");
    for entry in std::fs::read_dir(root.join("src")).expect("read src") {
        let path = entry.expect("dir entry").path();
        if let Some(name) = path.file_name().and_then(|n| n.to_str())
            && path.is_dir()
            && !rules.contains_key(name)
            // The binary's own folders (declared in main.rs) are not library modules.
            && !binary.contains(&format!("mod {name};"))
        {
            bad.push(format!(
                "src/{name}/ is not in ARCHITECTURE.md's module table"
            ));
        }
    }
    bad
}

/// A cycle in the allowed imports, if any (depth-first search).
fn cycle(rules: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        rules: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut c = path[at..].to_vec();
            c.push(m.to_string());
            return Some(c);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in rules.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, rules, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in rules.keys() {
        if let Some(c) = visit(m, rules, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn imports_follow_the_architecture_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let architecture =
        std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let rules = table(&architecture);
    for m in [
        "base", "video", "model", "pipeline", "case", "kit", "eval", "mil", "gui",
    ] {
        assert!(
            rules.contains_key(m),
            "the module table has no row for `{m}/`"
        );
    }
    assert!(
        rules["base"].is_empty(),
        "base must import nothing: {:?}",
        rules["base"]
    );
    assert_eq!(
        cycle(&rules),
        None,
        "the table's allowed imports form a cycle"
    );
    let bad = violations(root, &rules);
    assert!(
        bad.is_empty(),
        "{} layering violations:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Sibling files that still import each other, and why that is left: a kit `Scene` owns its
/// incidents and each incident steps on the scene; parting them means a new owner or a trait,
/// and the kit must stay byte-identical.
const SIBLING_CYCLES_LEFT: &[(&str, &str)] = &[("kit::incident", "kit::scene")];

/// A source file's module path: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`.
fn module_path(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root.join("src")).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The paths a `use` tree names, from just after a `::`: `a::b`, `{a::x, b::{y, z}}`, `*`.
fn paths_after(s: &str) -> Vec<Vec<String>> {
    let s = s.trim_start();
    if let Some(group) = s.strip_prefix('{') {
        let (mut items, mut depth, mut start) = (Vec::new(), 0usize, 0usize);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    items.push(&group[start..i]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&group[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return items.into_iter().flat_map(paths_after).collect();
    }
    let word: String = s.chars().take_while(|&c| is_ident(c)).collect();
    if word.is_empty() {
        return vec![Vec::new()];
    }
    match s[word.len()..].strip_prefix("::") {
        Some(rest) => paths_after(rest)
            .into_iter()
            .map(|mut p| {
                p.insert(0, word.clone());
                p
            })
            .collect(),
        None => vec![vec![word]],
    }
}

/// The paths a file (module `me`) names through `super::…` and `crate::…`, absolute; the
/// caller keeps the longest prefix of each that is a module.
fn named_paths(me: &[String], src: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in src.match_indices("::") {
        let head: String = src[..i]
            .chars()
            .rev()
            .take_while(|&c| is_ident(c))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let at = i - head.len();
        let after_path = src[..at].ends_with("::");
        if after_path || (head != "super" && head != "crate") {
            continue;
        }
        let mut rest = &src[i + 2..];
        let mut base = if head == "crate" {
            Vec::new()
        } else {
            let mut ups = 1;
            while let Some(r) = rest.strip_prefix("super::") {
                ups += 1;
                rest = r;
            }
            if ups > me.len() {
                continue;
            }
            me[..me.len() - ups].to_vec()
        };
        let start = base.len();
        for p in paths_after(rest) {
            base.truncate(start);
            base.extend(p);
            out.push(base.clone());
        }
    }
    out
}

/// Pairs of sibling files (same parent module) that import each other.
fn sibling_cycles(root: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(root, f)).collect();
    let mut imports: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let me = module_path(root, file);
        let src = shipped_source(&std::fs::read_to_string(file).expect("read source"));
        let mut found = BTreeSet::new();
        for mut p in named_paths(&me, &src) {
            while !p.is_empty() && !modules.contains(&p) {
                p.pop();
            }
            if !p.is_empty() && p != me {
                found.insert(p);
            }
        }
        imports.insert(me, found);
    }
    let mut cycles = Vec::new();
    for (a, targets) in &imports {
        for b in targets {
            let siblings = a.len() == b.len() && a[..a.len() - 1] == b[..b.len() - 1];
            if siblings && a < b && imports.get(b).is_some_and(|t| t.contains(a)) {
                cycles.push((a.join("::"), b.join("::")));
            }
        }
    }
    cycles
}

#[test]
fn no_file_imports_a_sibling_that_imports_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = sibling_cycles(root);
    let left: Vec<(String, String)> = SIBLING_CYCLES_LEFT
        .iter()
        .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
        .collect();
    let new: Vec<String> = found
        .iter()
        .filter(|c| !left.contains(c))
        .map(|(a, b)| format!("{a} <-> {b}"))
        .collect();
    assert!(
        new.is_empty(),
        "sibling files that import each other (move what both need below them):\n{}",
        new.join("\n")
    );
    let mended: Vec<&(String, String)> = left.iter().filter(|c| !found.contains(c)).collect();
    assert!(
        mended.is_empty(),
        "no longer a cycle, take it off SIBLING_CYCLES_LEFT: {mended:?}"
    );
}

/// The checker itself: it must see what it is meant to see, or the test above cannot fail.
#[test]
fn the_checker_sees_imports_groups_and_owned_crates() {
    let src = shipped_source(
        "use crate::case::Case; // crate::gui in a comment\n\
         use crate::{\n    pipeline::format_hms,\n    video::{A, B},\n    model,\n};\n\
         fn f() { let _ = crate::eval::auc(); let _ = ffmpeg_next::init(); }\n\
         #[cfg(test)]\nmod tests {\n    use crate::mil::Bag;\n}\n",
    );
    let got = crate_modules(&src);
    let want: BTreeSet<String> = ["case", "pipeline", "video", "model", "eval"]
        .map(String::from)
        .into();
    assert_eq!(got, want);
    assert!(uses_crate(&src, "ffmpeg_next"));
    assert!(!uses_crate("use std::sort;", "ort"));
    assert!(uses_crate("use ort::session::Session;", "ort"));

    let rules = table(
        "| module | owns | may import | must not |\n|---|---|---|---|\n\
         | `a/` | x | `b` | y |\n| `b/` | x | `a` | y |\n| `main.rs` | x | any | y |\n",
    );
    assert_eq!(rules.len(), 2);
    assert!(cycle(&rules).is_some());

    let me: Vec<String> = ["pipeline", "run"].map(String::from).into();
    let named = named_paths(
        &me,
        "use super::rows::{ClipRows, threads::{A, B}};\nuse crate::video::Source;\nfn f() { super::super::base::x(); }\n",
    );
    let p = |s: &[&str]| s.iter().map(|w| (*w).to_string()).collect::<Vec<String>>();
    let want = vec![
        p(&["pipeline", "rows", "ClipRows"]),
        p(&["pipeline", "rows", "threads", "A"]),
        p(&["pipeline", "rows", "threads", "B"]),
        p(&["video", "Source"]),
        p(&["base", "x"]),
    ];
    assert_eq!(named, want);
}
