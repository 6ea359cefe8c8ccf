//! Rules that hold the same in the browser, on the server and in the CLI.

pub mod field;
pub mod names;
pub mod policy;
pub mod role;

pub use field::FieldError;
pub use names::{GroupName, UserName};
pub use policy::{Action, Actor, Denied, Membership, Principal, Target};
pub use role::Role;
