//! README blocks that users paste are the code the tests run.

/// The fenced blocks of README.md that start with `opening` (e.g. "```rust,ignore").
fn blocks(opening: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line == opening {
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            out.push(body.join("\n") + "\n");
        }
    }
    out
}

#[test]
fn testing_your_routes_block_is_the_tested_file() {
    let file = include_str!("your_routes.rs");
    let shown = blocks("```rust,ignore");
    assert!(
        shown.iter().any(|b| b == file),
        "README's \"Testing your routes\" block differs from tests/your_routes.rs: \
         copy the file into the README"
    );
}

#[test]
fn use_it_in_your_app_names_real_features_and_keeps_defaults_off_in_dev() {
    let manifest = include_str!("../Cargo.toml");
    let features: Vec<&str> = manifest
        .split("[features]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
        .collect();
    let block = blocks("```toml")
        .into_iter()
        .find(|b| b.contains("[dev-dependencies]"))
        .expect("README has the Cargo.toml block for apps");
    let mut section = "";
    let mut dev_line = None;
    for line in block.lines() {
        if line.starts_with('[') {
            section = line;
        }
        let line = line.trim_start_matches("# ");
        if !line.starts_with("reauth =") {
            continue;
        }
        if section == "[dev-dependencies]" {
            dev_line = Some(line);
        }
        if let Some(list) = line.split("features = [").nth(1) {
            for f in list.split(']').next().unwrap().split(',') {
                let f = f.trim().trim_matches('"');
                assert!(
                    features.contains(&f),
                    "README names feature {f:?}, Cargo.toml has {features:?}"
                );
            }
        }
    }
    let dev = dev_line.expect("a dev-dependencies line for reauth");
    assert!(
        dev.contains("default-features = false") && dev.contains("\"testing\""),
        "the dev-dependency adds `testing` without re-enabling the defaults: {dev}"
    );
}

/// The step-up example's command line is a contract (issue: "Step-up for
/// browser apps"): the README shows it exactly, and the example's usage
/// names every flag of it.
#[test]
fn the_step_up_example_command_line_is_the_documented_one() {
    const CONTRACT: &str = "cargo run --example stepup -- --issuer URL --client-id ID \
        [--client-secret SECRET] --public-url http://127.0.0.1:PORT --bind 127.0.0.1:PORT \
        [--max-age SECONDS (default 300)]";
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(CONTRACT),
        "README lost the step-up command line"
    );
    // Both step-up examples (actix and axum) take their command line from
    // one file.
    for twin in ["/examples/stepup.rs", "/examples/stepup_axum.rs"] {
        let text =
            std::fs::read_to_string(format!("{}{twin}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(
            text.contains("#[path = \"shared/stepup.rs\"]") && text.contains("shared::args()"),
            "{twin} does not read the shared command line"
        );
    }
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/shared/stepup.rs"
    ))
    .unwrap();
    for flag in [
        "--issuer",
        "--client-id",
        "--client-secret",
        "--public-url",
        "--bind",
        "--max-age",
    ] {
        assert!(
            example.contains(&format!("\"{flag}\" =>")),
            "the example does not take {flag}"
        );
    }
    assert!(
        example.contains("max_age: 300,"),
        "--max-age defaults to 300"
    );
}

/// The features Cargo.toml declares.
fn cargo_features() -> Vec<&'static str> {
    include_str!("../Cargo.toml")
        .split("[features]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
        .filter(|k| *k != "default")
        .collect()
}

/// The crate front page (docs.rs) is its own short page, not the whole
/// README: a row for every feature, and links to the items a newcomer
/// looks for next (`cargo doc` with warnings denied checks they resolve).
#[test]
fn the_crate_front_page_is_short_links_the_items_and_lists_every_feature() {
    let lib = include_str!("../src/lib.rs");
    let front: Vec<&str> = lib.lines().take_while(|l| l.starts_with("//!")).collect();
    assert!(
        !lib.contains("#![doc = include_str!(\"../README.md\")]"),
        "the README is the user guide, not the front page"
    );
    assert!(
        (20..=120).contains(&front.len()),
        "a front page of a screen or two: {} lines",
        front.len()
    );
    let front = front.join("\n");
    for feature in cargo_features() {
        assert!(
            front.contains(&format!("//! | `{feature}` |")),
            "the front page's feature table lacks `{feature}`"
        );
    }
    for link in [
        "[`Verifier`]",
        "[`Requirement`]",
        "[`actix::Reauthenticated`]",
        "[`axum::Reauthenticated`]",
        "[`testing::TestIssuer`]",
        "[`IssuerSet`]",
        "[`ErrorRenderer`]",
        "[`TokenSource`]",
    ] {
        assert!(front.contains(link), "the front page does not link {link}");
    }
    assert!(front.contains("```\n"), "the front page has an example");
    // The README's Rust blocks still run as doctests.
    assert!(lib.contains("#[cfg(doctest)]\n#[doc = include_str!(\"../README.md\")]"));
}

/// "In a framework, it is one line per route:" is one list; the paragraphs
/// that explain it come after it, not between its items.
#[test]
fn the_one_line_per_route_list_is_one_list() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = readme
        .split("one line per route:\n\n")
        .nth(1)
        .expect("README has the one-line-per-route list");
    let list: Vec<&str> = after.split("\n\n").next().unwrap().lines().collect();
    let items: Vec<&str> = list
        .iter()
        .copied()
        .filter(|l| l.starts_with("- "))
        .collect();
    assert!(
        list.iter()
            .all(|l| l.starts_with("- ") || l.starts_with("  ")),
        "{list:#?}"
    );
    for name in ["actix-web", "axum", "anything else", "any language"] {
        assert!(
            items
                .iter()
                .any(|i| i.starts_with(&format!("- **{name}**"))),
            "the list lost {name}: {items:#?}"
        );
    }
}

/// The crate is not on crates.io: no guide shows `reauth = "0.1"` or a
/// `version = "0.1"` dependency a newcomer would paste and fail with.
#[test]
fn no_dependency_line_pretends_the_crate_is_published() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (file, text) in [
        ("README.md", readme.as_str()),
        ("src/lib.rs", include_str!("../src/lib.rs")),
        ("src/testing/mod.rs", include_str!("../src/testing/mod.rs")),
    ] {
        for line in text.lines() {
            let pasted = line
                .trim_start_matches("//!")
                .trim_start_matches("//")
                .trim_start_matches('#')
                .trim();
            assert!(
                !(pasted.starts_with("reauth = \"") || line.contains("reauth = { version =")),
                "{file}: {line}"
            );
        }
        assert!(
            !text.contains("a dev-dependency: `reauth = { version"),
            "{file}"
        );
    }
}
