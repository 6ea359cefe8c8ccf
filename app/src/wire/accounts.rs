//! Accounts, registry credentials and service tokens as the admin pages show them.

use serde::{Deserialize, Serialize};

use crate::domain::Role;

/// The signed-in user as the UI shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    pub system_admin: bool,
    /// Every group the user is in, with their role.
    pub groups: Vec<(String, Role)>,
    /// The groups whose Images page they may open: those they administer, or all for a system admin.
    pub manages: Vec<String>,
    /// Signed in by an identity proxy: there is no Kiln sign-out.
    pub via_proxy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialView {
    pub name: String,
    pub registry: String,
    pub username: String,
    /// Groups allowed to use it.
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsPage {
    pub credentials: Vec<CredentialView>,
    /// Every group, to choose from.
    pub all_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub name: String,
    pub scope: String,
    /// The user it acts as; none for a read token that only reads launch lists.
    pub user: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensPage {
    pub tokens: Vec<TokenView>,
}
