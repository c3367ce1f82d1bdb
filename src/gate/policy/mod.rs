//! The policy file: named routes, each matched on the original request's
//! method, host and path, and what each demands. Parsed from TOML into a
//! [`Policy`], with every mistake reported at its line and column.

mod fallthrough;
mod model;
mod parser;
mod reader;
mod requirement;

pub use model::{
    Action, BrowserMode, MAX_LIST_ITEMS, MAX_NAME_BYTES, MAX_POLICY_BYTES, MAX_ROUTES, Policy,
    PolicyError, Route, Unmatched,
};
