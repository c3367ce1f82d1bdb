//! Pure token reading: the compact JWS and its header, strict JSON, the
//! claim readers and checks of ID tokens, access tokens and logout tokens.
//! No I/O, no clock of its own (the caller passes "now").

pub(crate) mod alg;
pub(crate) mod claim;
pub(crate) mod claims;
pub(crate) mod id;
pub(crate) mod json;
pub(crate) mod logout;
pub(crate) mod token;
pub(crate) mod token_kind;
