//! The one error a server function answers with. Each variant travels as JSON with its own HTTP
//! status, and the page shows its message as it is. Storage and protocol failures are logged on
//! the server and reach the browser only as [`ApiError::Unavailable`], never as their text.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::Encodes;
use serde::{Deserialize, Serialize};

use super::codec::JsonText;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    #[error("Sign in to see your archive.")]
    SignedOut,
    #[error("You do not have permission for this.")]
    Forbidden,
    /// Also what an existing record of someone else's looks like, so nobody can probe for them.
    #[error("Not found.")]
    NotFound,
    /// Input that breaks a rule: the form field it concerns and a sentence for a person.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("The archive is unavailable right now. Try again shortly.")]
    Unavailable,
    /// The call itself failed on its way (network, a malformed request or answer).
    #[error("The server could not be reached ({0}). Try again.")]
    Transport(String),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::SignedOut => 401,
            ApiError::Forbidden => 403,
            ApiError::NotFound => 404,
            ApiError::Invalid { .. } => 422,
            ApiError::Unavailable => 503,
            ApiError::Transport(_) => 400,
        }
    }
}

/// A failure of storage or of a peer: logged on the server, and the browser learns only that
/// the archive is unavailable.
#[cfg(feature = "ssr")]
pub fn unavailable(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %error, "request failed on the server");
    ApiError::Unavailable
}

#[cfg(feature = "ssr")]
impl From<access::AccessError> for ApiError {
    fn from(error: access::AccessError) -> ApiError {
        use access::AccessError as E;
        match error {
            E::SignedOut => ApiError::SignedOut,
            E::Forbidden => ApiError::Forbidden,
            E::NotFound => ApiError::NotFound,
            E::Invalid { field, message } => ApiError::Invalid { field, message },
            E::Unavailable(why) => unavailable(why),
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => {
                ApiError::invalid("", format!("The request was incomplete: {m}."))
            }
            other => ApiError::Transport(other.to_string()),
        }
    }

    /// Called on the server as the error goes on the wire: the one place that gives each error
    /// its HTTP status, so no server function can forget it.
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(status) = http::StatusCode::from_u16(self.status()) {
                response.set_status(status);
            }
        }
        <JsonText as Encodes<ApiError>>::encode(self)
            .unwrap_or_else(|_| leptos::server_fn::Bytes::from_static(b"\"Unavailable\""))
    }
}
