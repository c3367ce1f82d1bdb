//! What every handler of `reauth serve` shares: the verifier(s), the
//! command line's requirement, the policy file in force and the metrics.
//! Its own file, so the probes and the gate both use it without importing
//! each other.

use std::sync::Arc;

use arc_swap::ArcSwap;
use reauth::gate::{Gatekeeper, Policy};

use crate::metrics::Metrics;

pub(crate) struct Gate {
    /// The verifier(s), the command line's requirement (no policy file)
    /// and the browser step-up: every decision is the library's.
    pub(crate) keeper: Gatekeeper,
    /// The policy file in force, swapped whole on SIGHUP.
    pub(crate) policy: Option<Arc<ArcSwap<Policy>>>,
    pub(crate) metrics: Option<Arc<Metrics>>,
    /// `--ssf-transmitter`: the identity provider's security events.
    pub(crate) signals: Option<reauth::signals::Receiver>,
}
