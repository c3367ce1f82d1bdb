//! What the two step-up examples share (`examples/stepup.rs`, actix, and
//! `examples/stepup_axum.rs`, axum): the command line, the issuer, verifier
//! and step-up client, and the start-up banner, so that only the web
//! framework differs between them.

use reauth::stepup::{StepUp, StepUpConfig};
use reauth::testing::{TEST_CLIENT_ID, TestIssuer};
use reauth::{Verifier, VerifierConfig};

pub struct Args {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub public_url: String,
    pub bind: String,
    pub max_age: u64,
}

const USAGE: &str = "usage: stepup|stepup_axum [--issuer URL --client-id ID [--client-secret SECRET]] \
                     [--public-url http://127.0.0.1:PORT] [--bind 127.0.0.1:PORT] [--max-age SECONDS]";

/// The command line; a mistake is the usage on stderr and exit 2.
pub fn args() -> Args {
    parse().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    })
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        issuer: None,
        client_id: None,
        client_secret: None,
        public_url: "http://127.0.0.1:8080".into(),
        bind: "127.0.0.1:8080".into(),
        max_age: 300,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = it.next().ok_or(format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--issuer" => a.issuer = Some(value),
            "--client-id" => a.client_id = Some(value),
            "--client-secret" => a.client_secret = Some(value),
            "--public-url" => a.public_url = value.trim_end_matches('/').to_owned(),
            "--bind" => a.bind = value,
            "--max-age" => {
                a.max_age = value
                    .parse()
                    .map_err(|_| format!("--max-age: {value:?} is not a number of seconds"))?;
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.issuer.is_some() && a.client_id.is_none() {
        return Err(format!("--issuer needs --client-id\n{USAGE}"));
    }
    Ok(a)
}

/// HTML-escapes what came from a token.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The verifier and step-up client of a run, and the embedded issuer
/// (kept alive for the whole run) when there is no `--issuer`.
pub struct Setup {
    pub verifier: Verifier,
    pub step: StepUp,
    pub issuer: String,
    pub embedded: Option<TestIssuer>,
}

/// Discovers the issuer (or starts the embedded one) and builds the
/// step-up client; exits 1 with the reason when that cannot be done.
pub async fn setup(args: &Args) -> Setup {
    // Kept alive for the whole run when there is no --issuer.
    let mut embedded = None;
    let (issuer, client_id) = match (&args.issuer, &args.client_id) {
        (Some(i), Some(c)) => (i.clone(), c.clone()),
        _ => {
            let test = TestIssuer::start().await;
            let url = test.issuer().to_owned();
            embedded = Some(test);
            (url, args.client_id.clone().unwrap_or(TEST_CLIENT_ID.into()))
        }
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| -> ! {
        eprintln!("stepup: {what}: {e}");
        std::process::exit(1);
    };
    let config = VerifierConfig::builder(&issuer)
        .audience(&client_id)
        .build()
        .unwrap_or_else(|e| fail("configuration", &e));
    let verifier = Verifier::discover(config)
        .await
        .unwrap_or_else(|e| fail("discovery", &e));
    // Pending step-ups are sealed with this key: a random one per run (a
    // restart forgets step-ups in flight). Production: load 32+ secret
    // bytes shared by every instance.
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).expect("random key");
    let mut step =
        StepUpConfig::builder(&client_id, format!("{}/callback", args.public_url)).cookie_key(&key);
    if let Some(secret) = &args.client_secret {
        step = step.client_secret(secret);
    }
    let step = step
        .build()
        .and_then(|c| StepUp::new(verifier.clone(), c))
        .unwrap_or_else(|e| fail("step-up", &e));
    Setup {
        verifier,
        step,
        issuer,
        embedded,
    }
}

/// The start-up lines (the tests wait for the first).
pub fn banner(args: &Args, setup: &Setup) {
    let (issuer, embedded) = (&setup.issuer, &setup.embedded);
    println!(
        "reauth step-up example on {} (issuer {issuer}{})",
        args.public_url,
        if embedded.is_some() {
            ", embedded: logs user-1 in at once"
        } else {
            ""
        }
    );
    println!(
        "open {}/account in a browser; /account/delete needs a login at most {} s old",
        args.public_url, args.max_age
    );
}
