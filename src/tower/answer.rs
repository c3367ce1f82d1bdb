//! A refusal as an `http::Response`: the one neutral [`Answer`], or its
//! gRPC form for a gRPC request, converted here and only here.

use std::fmt::Write as _;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Response, StatusCode, Version};
use http_body_util::Full;

use crate::guard::render::{Answer, Refused};

/// The framework-neutral [`Answer`] as an `http::Response`: its status,
/// its headers in order (a value that is not a valid header value is
/// dropped and logged; the refusal stands), its body.
pub fn answer_response(answer: Answer) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(answer.body)));
    *res.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = res.headers_mut();
    for (name, value) in answer.headers {
        match HeaderValue::from_str(&value) {
            Ok(value) => {
                headers.append(name, value);
            }
            Err(_) => tracing::warn!(
                header = name,
                "reauth: a header of a refusal is not a valid header value; dropped"
            ),
        }
    }
    res
}

/// The refusal's answer for this request: [`grpc_answer`] for a gRPC
/// request, else [`Refused::answer`].
pub(crate) fn refusal_response(refused: &Refused, grpc: bool) -> Response<Full<Bytes>> {
    answer_response(if grpc {
        grpc_answer(refused)
    } else {
        refused.answer()
    })
}

/// Whether the request is gRPC: HTTP/2 (gRPC runs on nothing else) and a
/// `Content-Type` of `application/grpc`, alone or followed by `+<format>`
/// (`+proto`, `+json`) or parameters. A gRPC refusal is an HTTP `200`
/// (the status is in `grpc-status`), so an HTTP/1 request that claims to be
/// gRPC keeps its HTTP refusal: a proxy that asks a guarded endpoint over
/// HTTP/1 and allows on `2xx` (nginx `auth_request`) is never told `200`
/// for a refused request. gRPC-Web (`application/grpc-web`) is not gRPC
/// here: put tonic-web's layer outside this one so the guard sees the
/// translated gRPC request.
pub(crate) fn is_grpc(version: Version, headers: &HeaderMap) -> bool {
    if version != Version::HTTP_2 {
        return false;
    }
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let value = value.trim();
    let Some(prefix) = value.get(..16) else {
        return false;
    };
    prefix.eq_ignore_ascii_case("application/grpc")
        && matches!(value.as_bytes().get(16), None | Some(b'+' | b';' | b' '))
}

/// The gRPC status code of a refusal's HTTP status, as gRPC's own table
/// maps them (grpc/doc/http-grpc-status-mapping.md), a 500 (a
/// misconfigured server) being `INTERNAL`.
pub fn grpc_code(status: u16) -> u8 {
    match status {
        // UNAUTHENTICATED
        401 => 16,
        // PERMISSION_DENIED
        403 => 7,
        // UNAVAILABLE
        429 | 502 | 503 | 504 => 14,
        // INTERNAL
        400 | 500 => 13,
        // UNIMPLEMENTED
        404 => 12,
        // UNKNOWN
        _ => 2,
    }
}

/// A refusal as gRPC answers it, in a *Trailers-Only* response (gRPC over
/// HTTP/2: "Response-Headers" and "Trailers" in one `HEADERS` frame, no
/// body): HTTP `200`, `content-type: application/grpc`, `grpc-status`
/// ([`grpc_code`] of the refusal's status), `grpc-message` (the error's
/// message, percent-encoded as the gRPC spec says), and the refusal's own
/// headers as response metadata: the RFC 6750 / RFC 9470
/// `www-authenticate` challenge (a client steps up from it),
/// `retry-after` on a 503, `cache-control: no-store`. The rendered body
/// is not sent (a gRPC client reads none).
pub fn grpc_answer(refused: &Refused) -> Answer {
    let http = refused.answer();
    let mut headers = vec![
        ("content-type", "application/grpc".to_owned()),
        ("grpc-status", grpc_code(http.status).to_string()),
        ("grpc-message", percent_encode(&refused.error().message())),
    ];
    headers.extend(
        http.headers
            .into_iter()
            .filter(|(name, _)| *name != "content-type"),
    );
    Answer {
        status: 200,
        headers,
        body: Vec::new(),
    }
}

/// gRPC over HTTP/2, "Percent-Encoded": bytes `%x20-%x24 / %x26-%x7E`
/// (space and visible ASCII but `%`) stay, every other byte of the UTF-8
/// text is `%XX` (upper-case hex). The result is always a valid header
/// value, whatever the message holds (a refusal may quote a token's claim).
pub(crate) fn percent_encode(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for &byte in message.as_bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// RFC 9728 protected resource metadata as a response, for a tower
/// service's route at [`METADATA_PATH`](crate::METADATA_PATH).
pub fn metadata_response(
    metadata: &crate::guard::metadata::ProtectedResourceMetadata,
) -> Response<Full<Bytes>> {
    answer_response(metadata.answer())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(encoded: &str) -> Vec<u8> {
        let bytes = encoded.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    fn content_type(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn grpc_requests() {
        for yes in [
            "application/grpc",
            "application/grpc+proto",
            "Application/GRPC+json",
            "application/grpc; charset=utf-8",
        ] {
            assert!(is_grpc(Version::HTTP_2, &content_type(yes)), "{yes}");
            assert!(!is_grpc(Version::HTTP_11, &content_type(yes)), "{yes}");
        }
        for no in [
            "application/json",
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpcx",
            "application/grp",
            "",
        ] {
            assert!(!is_grpc(Version::HTTP_2, &content_type(no)), "{no}");
        }
        assert!(!is_grpc(Version::HTTP_2, &HeaderMap::new()));
    }

    #[test]
    fn spec_examples() {
        assert_eq!(percent_encode("a b%c"), "a b%25c");
        assert_eq!(percent_encode("é\r\n"), "%C3%A9%0D%0A");
        assert_eq!(grpc_code(401), 16);
        assert_eq!(grpc_code(403), 7);
        assert_eq!(grpc_code(503), 14);
        assert_eq!(grpc_code(500), 13);
    }

    proptest! {
        /// Any message (a refusal may quote a token's claim) becomes a
        /// valid header value of the spec's alphabet that decodes back to it.
        #[test]
        fn percent_encoding_round_trips(message in any::<String>()) {
            let encoded = percent_encode(&message);
            prop_assert!(encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            prop_assert!(HeaderValue::from_str(&encoded).is_ok());
            prop_assert_eq!(decode(&encoded), message.as_bytes());
        }
    }
}
