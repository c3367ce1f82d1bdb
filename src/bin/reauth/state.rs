//! What every handler of `reauth serve` shares: the verifier(s), the
//! command line's requirement, the policy file in force and the metrics.
//! Its own file, so the probes and the gate both use it without importing
//! each other.

use std::sync::Arc;

use arc_swap::ArcSwap;
use reauth::gate::Policy;
use reauth::{Requirement, Verifiers};

use crate::metrics::Metrics;

pub(crate) struct Gate {
    pub(crate) verifier: Verifiers,
    /// The command line's requirement (no policy file).
    pub(crate) requirement: Requirement,
    /// The policy file in force, swapped whole on SIGHUP.
    pub(crate) policy: Option<Arc<ArcSwap<Policy>>>,
    pub(crate) metrics: Option<Arc<Metrics>>,
    /// `--stepup-client-id`: the session cookie, browser redirects and
    /// the `/reauth/` endpoints.
    pub(crate) browser: Option<reauth::gate::browser::GateBrowser>,
}
