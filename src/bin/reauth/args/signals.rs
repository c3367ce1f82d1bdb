//! `reauth signals`'s options: the Shared Signals stream at the
//! identity provider (SSF 1.0 §8), for operators.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Args, Debug)]
pub struct SignalsArgs {
    #[command(subcommand)]
    pub command: SignalsCommand,
}

#[derive(Subcommand, Debug)]
pub enum SignalsCommand {
    /// Manage the event stream at the transmitter; JSON on stdout, exit 0
    /// only on success (1: the transmitter refused; 2: could not ask).
    #[command(subcommand)]
    Stream(StreamCommand),
}

#[derive(Subcommand, Debug)]
pub enum StreamCommand {
    /// Create a stream (POST to the configuration endpoint); prints its configuration.
    Create(CreateArgs),
    /// Print a stream's configuration, or every stream's without --stream-id.
    Get(StreamArgs),
    /// Print a stream's status (enabled, paused, disabled).
    Status(StreamIdArgs),
    /// Ask for a verification event on the stream (the gate logs and
    /// counts it when it arrives).
    Verify(VerifyStreamArgs),
    /// Delete a stream.
    Delete(StreamIdArgs),
}

/// Where the transmitter is, and the management credentials.
#[derive(Args, Debug)]
pub struct TransmitterArgs {
    /// The transmitter's issuer URL (its /.well-known/ssf-configuration is read).
    #[arg(long, value_name = "URL")]
    pub transmitter: String,
    /// A file holding the bearer token for the management API.
    #[arg(long, value_name = "FILE")]
    pub token_file: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DeliveryMethod {
    /// RFC 8935: the transmitter POSTs SETs to --endpoint.
    Push,
    /// RFC 8936: the gate polls the endpoint the transmitter names.
    Poll,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    pub transmitter: TransmitterArgs,
    /// push or poll.
    #[arg(long, value_enum)]
    pub delivery: DeliveryMethod,
    /// With push: where SETs are sent (the gate's https://.../ssf/events).
    #[arg(long, value_name = "URL", required_if_eq("delivery", "push"))]
    pub endpoint: Option<String>,
    /// With push: the gate's --ssf-push-token-file, sent to the transmitter
    /// as the stream's authorization_header (`Bearer <secret>`).
    #[arg(long, value_name = "FILE")]
    pub push_token_file: Option<PathBuf>,
    /// The events to ask for: short names (session-revoked,
    /// credential-change, ...) or full URIs, space- or comma-separated
    /// (`--events a b` or `--events a,b`). Default: every event the gate
    /// acts on.
    #[arg(long, num_args = 1.., value_delimiter = ',', value_name = "EVENT")]
    pub events: Vec<String>,
    /// A description of the stream, for people.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
}

#[derive(Args, Debug)]
pub struct StreamArgs {
    #[command(flatten)]
    pub transmitter: TransmitterArgs,
    /// The stream.
    #[arg(long, value_name = "ID")]
    pub stream_id: Option<String>,
}

#[derive(Args, Debug)]
pub struct StreamIdArgs {
    #[command(flatten)]
    pub transmitter: TransmitterArgs,
    /// The stream.
    #[arg(long, value_name = "ID")]
    pub stream_id: String,
}

#[derive(Args, Debug)]
pub struct VerifyStreamArgs {
    #[command(flatten)]
    pub stream: StreamIdArgs,
    /// The state the verification event must carry back.
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
}
