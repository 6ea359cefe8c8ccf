//! The error every server function returns: safe to show, with the HTTP status it means.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::domain::{FieldError, Said, messages};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApiError {
    Unauthenticated,
    BadCredentials,
    BadToken,
    /// A service token past its expiry: the message names it and when it expired.
    ExpiredToken(Said),
    /// The request itself is malformed: not JSON, a wrong type, an unknown field.
    BadRequest {
        message: String,
        field: Option<String>,
    },
    Forbidden(Said),
    NotFound(Said),
    Invalid(FieldError),
    Conflict(Said),
    /// The request's body is larger than Kiln reads.
    TooLarge(Said),
    /// The request took longer than Kiln gives one (a client that stalls, a registry that
    /// does not answer); whatever it was changing was rolled back.
    Timeout(Said),
    TooManyAttempts {
        message: Said,
        retry_after_secs: u64,
    },
    Internal,
    Transport(String),
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthenticated
            | ApiError::BadCredentials
            | ApiError::BadToken
            | ApiError::ExpiredToken(_) => 401,
            ApiError::BadRequest { .. } => 400,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Conflict(_) => 409,
            ApiError::TooLarge(_) => 413,
            ApiError::Invalid(_) => 422,
            ApiError::TooManyAttempts { .. } => 429,
            ApiError::Internal | ApiError::Transport(_) => 500,
            ApiError::Timeout(_) => 503,
        }
    }

    /// The field this error belongs to, when it is about one input.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid(e) => Some(&e.field),
            ApiError::BadRequest { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl ApiError {
    /// A short, stable code for scripts: what kind of error this is.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::BadCredentials => "bad_credentials",
            ApiError::BadToken => "bad_token",
            ApiError::ExpiredToken(_) => "token_expired",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Invalid(_) => "invalid",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::Internal => "internal",
            ApiError::Transport(_) => "transport",
            ApiError::TooLarge(_) => "too_large",
            ApiError::Timeout(_) => "timeout",
        }
    }

    /// What this error says: its English wording, and its message's code and values when
    /// it is coded (pages word it in the reader's language from those).
    pub fn said(&self) -> Said {
        let fixed = |message| Said::coded(message, &[]);
        match self {
            ApiError::Unauthenticated => fixed(messages::SIGN_IN_FIRST),
            ApiError::BadCredentials => fixed(messages::BAD_CREDENTIALS),
            ApiError::BadToken => fixed(messages::BAD_TOKEN),
            ApiError::Internal => fixed(messages::INTERNAL),
            ApiError::BadRequest { message, .. } => {
                Said::coded(messages::BAD_REQUEST, &[("why", message)])
            }
            ApiError::Invalid(e) => Said {
                message: e.message.clone(),
                code: e.code.clone(),
                params: e.params.clone(),
            },
            ApiError::ExpiredToken(s)
            | ApiError::Forbidden(s)
            | ApiError::NotFound(s)
            | ApiError::Conflict(s)
            | ApiError::TooLarge(s)
            | ApiError::Timeout(s)
            | ApiError::TooManyAttempts { message: s, .. } => s.clone(),
            ApiError::Transport(why) => Said::coded(messages::TRANSPORT, &[("why", why)]),
        }
    }

    /// The coded message's code and values, when it is a coded one.
    pub fn coded(&self) -> Option<(String, std::collections::BTreeMap<String, String>)> {
        let said = self.said();
        (!said.code.is_empty()).then_some((said.code, said.params))
    }

    /// The message without the field name in front: the field travels separately.
    pub fn message(&self) -> String {
        match self {
            ApiError::Invalid(e) => e.message.clone(),
            other => other.to_string(),
        }
    }
}

/// An error reads as what it says (a field's name comes before a field's refusal).
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Invalid(e) => e.fmt(f),
            other => f.write_str(&other.said().message),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(e)
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        ApiError::Transport(value.to_string())
    }
}
