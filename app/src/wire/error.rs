//! The error every server function returns: safe to show, with the HTTP status it means.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::domain::{FieldError, Said};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    #[error("Please sign in first.")]
    Unauthenticated,
    #[error("Wrong user name or password.")]
    BadCredentials,
    #[error("The service token is unknown or was revoked.")]
    BadToken,
    /// A service token past its expiry: the message names it and when it expired.
    #[error("{0}")]
    ExpiredToken(String),
    /// The request itself is malformed: not JSON, a wrong type, an unknown field.
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    #[error("{0}")]
    Forbidden(Said),
    #[error("{0}")]
    NotFound(Said),
    #[error("{0}")]
    Invalid(FieldError),
    #[error("{0}")]
    Conflict(Said),
    /// The request's body is larger than Kiln reads.
    #[error("{0}")]
    TooLarge(String),
    /// The request took longer than Kiln gives one (a client that stalls, a registry that
    /// does not answer); whatever it was changing was rolled back.
    #[error("{0}")]
    Timeout(String),
    #[error("{message}")]
    TooManyAttempts {
        message: String,
        retry_after_secs: u64,
    },
    #[error("Something went wrong on the server; it has been logged.")]
    Internal,
    #[error("The server could not be reached: {0}")]
    Transport(String),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(FieldError::new(field, message))
    }

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

    /// The coded message's code and values, when it is a coded one.
    pub fn coded(&self) -> Option<(&str, &std::collections::BTreeMap<String, String>)> {
        let (code, params) = match self {
            ApiError::Invalid(e) => (&e.code, &e.params),
            ApiError::Forbidden(s) | ApiError::NotFound(s) | ApiError::Conflict(s) => {
                (&s.code, &s.params)
            }
            _ => return None,
        };
        (!code.is_empty()).then_some((code.as_str(), params))
    }

    /// The message without the field name in front: the field travels separately.
    pub fn message(&self) -> String {
        match self {
            ApiError::Invalid(e) => e.message.clone(),
            other => other.to_string(),
        }
    }
}

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
