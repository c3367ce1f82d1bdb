//! The `reauth` command: `verify` for people and scripts, `serve` as a
//! forward-auth gate. See `reauth --help`.

mod args;
mod dev_issuer;
mod error;
mod front;
mod health;
mod metrics;
mod policy_file;
mod revoke;
mod secret;
mod serve;
mod signals;
mod state;
mod verify;

use std::io::IsTerminal;

/// jemalloc: see `Cargo.toml` for why (the front door allocates on every
/// request; glibc's malloc was 15-18% of its CPU).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::error::ErrorKind;
use tracing_subscriber::EnvFilter;

use args::{Cli, Command, LogFormat};
use error::CliError;

fn main() {
    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            // Scripts read stdout: one JSON line there too, with clap's whole
            // message (which flags are missing or wrong); the usage on stderr.
            // Neither ever repeats a token that was passed where it did not
            // belong ("unexpected argument 'eyJ...'").
            let text = redact_tokens(&e.to_string());
            let message = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let message = message.trim_start_matches("error: ");
            // `TOKEN=$(reauth dev-issuer token ...)` captures stdout: only
            // the token ever goes there.
            if !std::env::args().any(|a| a == "dev-issuer") {
                println!("{}", CliError::Config(message.to_owned()).to_json());
            }
            eprint!("{text}");
            std::process::exit(verify::UNDECIDED);
        }
    };
    let default_level = match cli.command {
        Command::Serve(_) | Command::DevIssuer(_) => "info",
        Command::Verify(_) | Command::Revoke(_) | Command::Signals(_) => "warn",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        // Colours only for a person at a terminal, never into a log file.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
    let code = actix_web::rt::System::new().block_on(async move {
        match cli.command {
            Command::Verify(args) => {
                let pretty = args.pretty;
                let (out, code) = verify::run(args).await;
                let text = if pretty {
                    serde_json::to_string_pretty(&out)
                } else {
                    serde_json::to_string(&out)
                };
                println!("{}", text.unwrap_or_default());
                code
            }
            Command::Serve(args) => serve::run(*args).await,
            Command::DevIssuer(args) => dev_issuer::run(args).await,
            Command::Signals(args) => {
                let (out, code) = signals::run(args).await;
                println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
                code
            }
            Command::Revoke(args) => {
                let (out, code) = revoke::run(args).await;
                println!("{out}");
                code
            }
        }
    });
    std::process::exit(code);
}

/// Replaces every word that looks like a JWT (`eyJ...`, or three base64url
/// segments of 16 characters or more: never a host name) with `<token>`, so
/// no error message repeats one.
fn redact_tokens(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|chunk| {
            let word = chunk.trim_end();
            let (lead, core, trail) = around(word);
            if looks_like_jwt(core) {
                format!("{lead}<token>{trail}{}", &chunk[word.len()..])
            } else {
                chunk.to_owned()
            }
        })
        .collect()
}

fn base64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn looks_like_jwt(w: &str) -> bool {
    w.starts_with("eyJ")
        || (w.split('.').count() == 3
            && w.split('.')
                .all(|p| p.len() >= 16 && p.chars().all(base64url)))
}

/// A word as the punctuation around it (clap quotes values: `'eyJ...'`)
/// and what that encloses.
fn around(word: &str) -> (&str, &str, &str) {
    let start = word.find(base64url).unwrap_or(word.len());
    let end = word.rfind(base64url).map_or(start, |i| i + 1);
    (&word[..start], &word[start..end], &word[end..])
}

#[cfg(test)]
mod tests {
    use super::redact_tokens;

    #[test]
    fn tokens_are_redacted_from_messages() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";
        let msg = format!("error: unexpected argument '{jwt}' found\n\n  tip: use '-- {jwt}'\n");
        let out = redact_tokens(&msg);
        assert!(!out.contains("eyJ"), "{out}");
        assert_eq!(
            out,
            "error: unexpected argument '<token>' found\n\n  tip: use '-- <token>'\n"
        );
        let opaque = "aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbb.cccccccccccccccccc";
        assert!(!redact_tokens(opaque).contains("aaaa"));
        let host = "invalid issuer https://login.example-company.com/";
        assert_eq!(redact_tokens(host), host);
        let plain = "the following required arguments were not provided:\n  --issuer <URL>\n";
        assert_eq!(redact_tokens(plain), plain);
    }
}
