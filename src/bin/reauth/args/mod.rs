//! The command line (a fixed contract: scripts depend on it).

mod cli;
mod common;
mod dev_issuer;
mod revoke;
mod serve;
mod signals;
mod verifiers;

pub use cli::{Cli, Command, LogFormat, VerifyArgs};
pub use common::{CommonArgs, Kind};
pub use dev_issuer::{
    DevAction, DevIssuerArgs, DevLoginArgs, DevServeArgs, DevTokenArgs, LoginArgs,
};
pub use revoke::RevokeArgs;
pub use serve::{ServeArgs, SignalArgs};
pub use signals::{
    CreateArgs, DeliveryMethod, SignalsArgs, SignalsCommand, StreamCommand, TransmitterArgs,
};
