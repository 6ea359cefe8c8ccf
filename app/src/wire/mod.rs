//! What travels between the server and the pages (and the API's JSON): the shapes the
//! operations answer with and the error every call may end in. A leaf: it imports only
//! `domain`, so the UI, the server functions and the operations can all use it.

pub mod accounts;
pub mod audit;
pub mod builds;
pub mod error;
pub mod images;

pub use error::ApiError;
