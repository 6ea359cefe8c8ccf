//! How much of a request Kiln reads.

use app::wire::ApiError;

/// The largest request body Kiln reads: a build spec with long package lists is a few KiB,
/// and nothing Kiln takes is bigger.
pub const BODY_LIMIT: usize = 256 * 1024;

/// The refusal of a body over [`BODY_LIMIT`].
pub fn too_large() -> ApiError {
    ApiError::TooLarge(app::domain::Said::coded(
        app::domain::messages::TOO_LARGE,
        &[("kib", &(BODY_LIMIT / 1024).to_string())],
    ))
}
