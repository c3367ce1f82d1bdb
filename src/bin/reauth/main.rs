//! The `reauth` command: `verify` for people and scripts, `serve` as a
//! forward-auth gate. See `reauth --help`.

mod args;
mod duration;
mod revoke;
mod serve;
mod verify;

use clap::Parser;
use clap::error::ErrorKind;
use tracing_subscriber::EnvFilter;

use args::{Cli, Command};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            // Scripts read stdout: one JSON line there too, details on stderr.
            let first = e
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_owned();
            println!("{}", verify::failure("config_error", &first));
            eprint!("{e}");
            std::process::exit(verify::UNDECIDED);
        }
    };
    let default_level = match cli.command {
        Command::Serve(_) => "info",
        Command::Verify(_) | Command::Revoke(_) => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
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
            Command::Serve(args) => serve::run(args).await,
            Command::Revoke(args) => {
                let (out, code) = revoke::run(args).await;
                println!("{out}");
                code
            }
        }
    });
    std::process::exit(code);
}
