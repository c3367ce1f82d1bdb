//! The crate's shape, kept: reads `src/` and fails on an import circle
//! between files (a folder's face, its `mod.rs`, included), an internal
//! import through the crate root's re-exports (`use crate::Verifier`), an
//! adapter importing another adapter, or a lower layer importing a higher
//! one. The layers, from the ground up (each may use only those below it):
//!
//! | layer | modules |
//! |---|---|
//! | 0 | `clock`, `error` |
//! | 1 | `jwt` (pure token reading) |
//! | 2 | `revocation` |
//! | 3 | `config` |
//! | 4 | `provider` (discovery, JWKS, key cache: the I/O edge) |
//! | 5 | `verify` (the `Verifier` pipeline, requirement, freshness, memo, issuer sets) |
//! | 6 | `guard` (framework-free request handling, the one answer), `signals` (the Shared Signals receiver) |
//! | 7 | `stepup` |
//! | 8 | `gate` |
//! | 9 | `actix`, `axum`, `tower` (adapters: never each other) |
//! | 10 | `testing`, `fuzzing` |
//!
//! `lib.rs` is the front page and re-exports only; the binary
//! (`src/bin/reauth/`) is its own crate, on the public API, and is checked
//! for circles among its files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: &[(&str, u8)] = &[
    ("clock", 0),
    ("error", 0),
    ("jwt", 1),
    ("revocation", 2),
    ("config", 3),
    ("provider", 4),
    ("verify", 5),
    ("guard", 6),
    ("signals", 6),
    ("stepup", 7),
    ("gate", 8),
    ("actix", 9),
    ("axum", 9),
    ("tower", 9),
    ("testing", 10),
    ("fuzzing", 10),
];

const ADAPTERS: &[&str] = &["actix", "axum", "tower"];

/// A source file as a module path: `src/verify/memo.rs` is `["verify", "memo"]`,
/// `src/verify/mod.rs` is `["verify"]`.
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "main" || p == "lib")
    {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code without comments and string literals (doc links name paths
/// that are not imports).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i..].starts_with(b"r#\"") {
            i += 3;
            while i < b.len() && !b[i..].starts_with(b"\"#") {
                i += 1;
            }
            i += 2;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('"', '\n'); lifetimes ('a) pass through.
            let end = b[i + 1..].iter().position(|&c| c == b'\'').unwrap_or(0);
            i += end + 2;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Every path the code names through `crate::` or `super::`, with `use`
/// groups expanded: `use crate::{a::B, c}` gives `crate::a::B`, `crate::c`.
fn paths_in(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    // `use` statements, braces expanded.
    for stmt in code.split(';') {
        let Some(at) = stmt.find("use ") else {
            continue;
        };
        let before = &stmt[..at];
        if !before.trim().is_empty()
            && !before.trim_end().ends_with("pub")
            && !before.trim_end().ends_with(')')
            && !before.trim_end().ends_with('}')
            && !before.trim_end().ends_with(']')
            && !before.trim_end().ends_with('{')
        {
            continue;
        }
        let spaced = stmt[at + 4..]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let mut tree = String::with_capacity(spaced.len());
        for (i, c) in spaced.char_indices() {
            let near = |j: Option<char>| matches!(j, Some(':' | '{' | '}' | ','));
            if c == ' '
                && (near(spaced[..i].chars().last()) || near(spaced[i + 1..].chars().next()))
            {
                continue;
            }
            tree.push(c);
        }
        let mut found = Vec::new();
        expand("", &tree, &mut found);
        // Relative `use child::X` (a module of this file) is kept as `self::`.
        out.extend(found.into_iter().map(|p| {
            if p.starts_with("crate::") || p.starts_with("super::") || p.starts_with("self::") {
                p
            } else {
                format!("self::{p}")
            }
        }));
    }
    // Paths used inline (`crate::x::y(...)`, `super::z`).
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(pos) = code[from..].find(start) {
            let at = from + pos;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| at + e);
            out.push(code[at..end].trim_end_matches(':').to_owned());
        }
    }
    out.retain(|p| p.starts_with("crate::") || p.starts_with("super::") || p.starts_with("self::"));
    out.sort();
    out.dedup();
    out
}

fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    match tree.find('{') {
        None => {
            let item = tree.split(" as ").next().unwrap_or(tree);
            out.push(format!("{prefix}{item}"));
        }
        Some(open) => {
            let head = &tree[..open];
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut last = 0;
            let mut parts = Vec::new();
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[last..i]);
                        last = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[last..]);
            for p in parts.into_iter().filter(|p| !p.is_empty()) {
                if p == "self" {
                    out.push(format!("{prefix}{}", head.trim_end_matches("::")));
                } else {
                    expand(&format!("{prefix}{head}"), p, out);
                }
            }
        }
    }
}

/// The file a path resolves to: the longest module prefix that is a file.
fn resolve(
    modules: &BTreeMap<Vec<String>, PathBuf>,
    from: &[String],
    is_face: bool,
    path: &str,
) -> Option<Vec<String>> {
    let mut segs: Vec<&str> = path.split("::").collect();
    let mut base: Vec<String> = if segs[0] == "crate" {
        segs.remove(0);
        Vec::new()
    } else if segs[0] == "self" {
        // Only a child module of this file counts (else: an extern crate).
        segs.remove(0);
        let mut child = from.to_vec();
        child.push(segs.first()?.to_string());
        if !is_face || !modules.contains_key(&child) {
            return None;
        }
        from.to_vec()
    } else {
        // `super` from a face (`mod.rs`) is the parent of its folder.
        let mut here = from.to_vec();
        if !is_face {
            here.pop();
        }
        while segs.first() == Some(&"super") {
            segs.remove(0);
            if segs.first() == Some(&"super") {
                here.pop();
            }
        }
        here
    };
    let mut best = modules.contains_key(&base).then(|| base.clone());
    for s in segs {
        base.push(s.to_owned());
        if modules.contains_key(&base) {
            best = Some(base.clone());
        } else {
            break;
        }
    }
    best
}

struct Crate {
    modules: BTreeMap<Vec<String>, PathBuf>,
    /// file -> the files it imports from, with the path that does it.
    edges: BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>>,
    /// Imports of an item through the crate root: (file, path).
    through_root: Vec<(String, String)>,
}

fn read_crate(root: &Path, skip: &[&str]) -> Crate {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    files.retain(|f| {
        !skip
            .iter()
            .any(|s| f.strip_prefix(root).unwrap().starts_with(s))
    });
    let mut modules = BTreeMap::new();
    for f in &files {
        modules.insert(module_of(root, f), f.clone());
    }
    let tops: BTreeSet<String> = modules.keys().filter_map(|m| m.first().cloned()).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>> = BTreeMap::new();
    let mut through_root = Vec::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests (`#[cfg(test)] mod tests`, at the end by convention)
        // are not the module's imports: their `super` is the module itself.
        let text = text.split("#[cfg(test)]\nmod ").next().unwrap_or(&text);
        let code = code_of(text);
        let is_face = file
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "main.rs" || n == "lib.rs");
        let entry = edges.entry(module.clone()).or_default();
        for path in paths_in(&code) {
            if let Some(first) = path
                .strip_prefix("crate::")
                .map(|p| p.split("::").next().unwrap())
            {
                if !tops.contains(first) && !module.is_empty() {
                    through_root.push((file.display().to_string(), path.clone()));
                    continue;
                }
            }
            if let Some(target) = resolve(&modules, module, is_face, &path) {
                if &target != module && !target.is_empty() {
                    entry.entry(target).or_insert(path);
                }
            }
        }
    }
    Crate {
        modules,
        edges,
        through_root,
    }
}

/// Every cycle's files, found as strongly connected components (Tarjan).
fn circles(edges: &BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>>) -> Vec<Vec<Vec<String>>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on: BTreeSet<&'a Vec<String>>,
        next: usize,
        out: Vec<Vec<Vec<String>>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        if let Some(targets) = s.edges.get(v) {
            for w in targets.keys() {
                let Some((w, _)) = s.edges.get_key_value(w) else {
                    continue;
                };
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn layer(module: &[String]) -> Option<u8> {
    let top = module.first()?;
    LAYERS.iter().find(|(n, _)| n == top).map(|(_, l)| *l)
}

/// Everything wrong with the crate's shape, one line each.
fn violations(root: &Path) -> Vec<String> {
    let lib = read_crate(root, &["bin"]);
    let mut out = Vec::new();
    for m in lib.modules.keys() {
        if !m.is_empty() && layer(m).is_none() {
            out.push(format!(
                "src/{} belongs to no layer (add it to LAYERS in tests/layering.rs)",
                m.join("/")
            ));
        }
    }
    for (file, path) in &lib.through_root {
        out.push(format!(
            "{file}: `{path}` imports through the crate root; import it from the module that owns it"
        ));
    }
    for (from, targets) in &lib.edges {
        let (Some(lf), Some(top_from)) = (layer(from), from.first()) else {
            continue;
        };
        for (to, path) in targets {
            let (Some(lt), Some(top_to)) = (layer(to), to.first()) else {
                continue;
            };
            if top_from == top_to {
                continue;
            }
            if ADAPTERS.contains(&top_from.as_str()) && ADAPTERS.contains(&top_to.as_str()) {
                out.push(format!(
                    "adapter {} imports adapter {} (`{path}`)",
                    from.join("::"),
                    to.join("::")
                ));
            } else if lt > lf {
                out.push(format!(
                    "{} (layer {lf}) imports {} (layer {lt}), a higher layer (`{path}`)",
                    from.join("::"),
                    to.join("::")
                ));
            } else if lt == lf {
                out.push(format!(
                    "{} and {} share layer {lf} and may not import each other (`{path}`)",
                    from.join("::"),
                    to.join("::")
                ));
            }
        }
    }
    let bin = read_crate(&root.join("bin/reauth"), &[]);
    for (what, krate) in [("src", &lib), ("src/bin/reauth", &bin)] {
        for c in circles(&krate.edges) {
            let names: Vec<String> = c
                .iter()
                .map(|m| {
                    let shown = if m.is_empty() {
                        "main".to_owned()
                    } else {
                        m.join("/")
                    };
                    format!("{what}/{shown}")
                })
                .collect();
            out.push(format!("import circle: {}", names.join(" <-> ")));
        }
    }
    out
}

#[test]
fn the_crate_keeps_its_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&root);
    assert!(
        found.is_empty(),
        "the crate's shape is broken ({} problems):\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The check itself can fail: a deliberately added circle, a root import,
/// an adapter importing another and an upward import are each caught.
#[test]
fn the_check_catches_what_it_should() {
    let dir = std::env::temp_dir().join(format!("reauth-layering-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "lib.rs",
        "mod jwt; mod verify; mod actix; mod axum;\npub use verify::Verifier;\n",
    );
    write("jwt/mod.rs", "mod claims;\npub use claims::Claims;\n");
    // A circle inside jwt/, through the face.
    write(
        "jwt/claims.rs",
        "use super::Claims as _;\npub struct Claims;\n",
    );
    // An upward import.
    write("verify/mod.rs", "pub struct Verifier;\n");
    write(
        "jwt/token.rs",
        "use crate::verify::Verifier;\n// crate::axum in a comment is not an import\n",
    );
    // Adapters importing each other, and an import through the root.
    write(
        "actix/mod.rs",
        "use crate::axum::Thing;\nuse crate::Verifier;\n",
    );
    write("axum/mod.rs", "pub struct Thing;\n");
    write("bin/reauth/main.rs", "mod a;\nmod b;\n");
    write("bin/reauth/a.rs", "use crate::b::B;\npub struct A;\n");
    write("bin/reauth/b.rs", "use crate::a::A;\npub struct B;\n");
    let found = violations(&dir).join("\n");
    let _ = std::fs::remove_dir_all(&dir);
    for needle in [
        "import circle: src/jwt",
        "jwt::token (layer 1) imports verify (layer 5)",
        "adapter actix imports adapter axum",
        "`crate::Verifier` imports through the crate root",
        "import circle: src/bin/reauth/",
    ] {
        assert!(found.contains(needle), "{needle:?} not caught in:\n{found}");
    }
    assert!(!found.contains("in a comment"), "{found}");
}
