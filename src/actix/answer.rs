//! The one neutral answer ([`Answer`]) as an actix response: converted
//! here and only here.

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::{HttpResponse, ResponseError};

use crate::guard::GuardError;
use crate::guard::render::{Answer, Refused};

impl ResponseError for GuardError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        Refused::from(self.clone()).error_response()
    }
}

/// The status, challenge, `Retry-After` and `Cache-Control` always; the
/// body from the route's [`ErrorRenderer`](crate::ErrorRenderer) when one is registered.
impl ResponseError for Refused {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        answer_response(self.answer())
    }
}

/// The framework-neutral [`Answer`] as an actix response (converted here
/// and only here).
pub fn answer_response(answer: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::build(status);
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            res.append_header((name, value));
        }
    }
    res.body(answer.body)
}
