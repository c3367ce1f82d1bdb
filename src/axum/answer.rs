//! The framework-neutral [`Answer`] as an axum response: the one place
//! the adapter converts what the core decided.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::guard::render::Answer;

/// The framework-neutral [`Answer`] as an axum response.
pub fn answer_response(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, answer.body).into_response();
    let headers = res.headers_mut();
    headers.remove(CONTENT_TYPE);
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(name, value);
        }
    }
    res
}
