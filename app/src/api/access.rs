//! The caller of a server function. Every server function starts here and reaches the stores
//! only through the handles of the [`access::Caller`] it gets (the `access` crate checks the
//! permissions and writes the audit log).

use super::context::{app_context, caller_for, client_ip, request_parts};
use super::error::ApiError;

/// The signed-in caller of this request, or [`ApiError::SignedOut`].
pub async fn caller() -> Result<access::Caller, ApiError> {
    let ctx = app_context()?;
    let parts = request_parts()?;
    caller_for(
        &ctx,
        &parts.headers,
        client_ip(&parts, &ctx.trusted_proxies),
    )
    .await
}
