//! Revocation from the identity provider as it happens: an OpenID Shared
//! Signals Framework 1.0 receiver for CAEP 1.0 and RISC 1.0 events.
//!
//! A transmitter (the identity provider) sends Security Event Tokens
//! (RFC 8417) by push (RFC 8935: [`Receiver::receive`] on each `POST`) or
//! poll (RFC 8936: [`Poller`]). Each SET is verified like a token (the
//! transmitter's `/.well-known/ssf-configuration`, its JWKS cached with
//! the verifier's rules), validated (SSF 1.0 §4), and applied to the
//! revocation store of the target [`Verifiers`](crate::Verifiers): a
//! session revoked, or a user's logins cut off at the event's time. Its
//! `jti` is recorded so a replay changes nothing. What each event does is
//! the README's table ("Revocation from your identity provider").
//!
//! [`StreamClient`] manages the stream at the transmitter (create, read,
//! status, verification, delete: SSF 1.0 §8).

mod config;
mod event;
mod poll;
mod push;
mod receiver;
mod stream;
mod subject;
mod transmitter;

pub use crate::error::{SetError, SetErrorCode};
pub use config::{EmailToSubject, ReceiverConfig, ReceiverConfigBuilder};
pub use event::{EventKind, MAX_JTI_BYTES, SecurityEvent, actionable_event_types, event_type_uri};
pub use poll::{PollConfig, PollError, PollRound, Poller};
pub use push::{PushRequest, SECEVENT_MEDIA_TYPE};
pub use receiver::{Action, Received, Receiver, ReceiverStats, StreamStatusSeen, VerificationSeen};
pub use stream::{Delivery, StreamClient, StreamError};
pub use subject::{MAX_MEMBERS, MAX_STRING_BYTES, Subject, SubjectId};
pub use transmitter::{POLL, PUSH, TransmitterMetadata};

#[cfg(feature = "fuzzing")]
pub(crate) use event::{SetContext, validate};
#[cfg(feature = "fuzzing")]
pub(crate) use subject::parse as parse_subject;
#[cfg(feature = "fuzzing")]
pub(crate) use transmitter::parse as parse_transmitter;
