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
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/stepup.rs"))
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
