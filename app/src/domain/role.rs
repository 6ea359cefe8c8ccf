//! What a user is in a group.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Launches the group's ready images.
    Member,
    /// Manages the group's images and builds.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// A role as a form or an API body gives it: refused naming `field` when it is neither.
    pub fn from_field(field: &str, s: &str) -> Result<Role, super::FieldError> {
        Role::parse(s).ok_or_else(|| super::FieldError::coded(field, super::messages::ROLE, &[]))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
