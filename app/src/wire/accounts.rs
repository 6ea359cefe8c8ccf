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
    /// Signs in with a password Kiln keeps (local mode): they may change it here.
    pub has_password: bool,
}

/// How people sign in to this Kiln, for the sign-in page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInMode {
    /// Kiln's own accounts: user name and password.
    Password,
    /// The organisation's OpenID Connect provider, through Kiln's `/auth/oidc/login`.
    Provider,
    /// An identity proxy in front of Kiln signs people in before they get here.
    Proxy,
}

/// Why a sign-in at the identity provider did not sign anyone in: the code travels in the
/// sign-in page's address (`/login?failed=state`), the sentence is the page's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInFailure {
    /// The callback's `state` is not the one this browser's sign-in started with.
    State,
    /// The provider answered with an error (the user cancelled, or was not allowed).
    Provider,
    /// The provider could not be reached, or its discovery document is wrong.
    Unreachable,
    /// The ID token failed a check: signature, issuer, audience, expiry or nonce.
    Token,
    /// The token has no user name Kiln can use.
    Name,
    /// The account of that name is bound to another person at the provider.
    Taken,
    /// A system admin disabled the account.
    Disabled,
    /// Kiln itself failed (its database); logged.
    Internal,
}

impl SignInFailure {
    const ALL: [SignInFailure; 8] = [
        SignInFailure::State,
        SignInFailure::Provider,
        SignInFailure::Unreachable,
        SignInFailure::Token,
        SignInFailure::Name,
        SignInFailure::Taken,
        SignInFailure::Disabled,
        SignInFailure::Internal,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SignInFailure::State => "state",
            SignInFailure::Provider => "provider",
            SignInFailure::Unreachable => "unreachable",
            SignInFailure::Token => "token",
            SignInFailure::Name => "name",
            SignInFailure::Taken => "taken",
            SignInFailure::Disabled => "disabled",
            SignInFailure::Internal => "internal",
        }
    }

    pub fn from_code(code: &str) -> Option<SignInFailure> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    /// What the sign-in page says about this failure.
    pub fn message(self) -> crate::domain::Message {
        use crate::domain::messages;
        match self {
            SignInFailure::State => messages::SIGN_IN_STATE,
            SignInFailure::Provider => messages::SIGN_IN_PROVIDER,
            SignInFailure::Disabled => messages::SIGN_IN_DISABLED,
            SignInFailure::Unreachable => messages::SIGN_IN_UNREACHABLE,
            SignInFailure::Token => messages::SIGN_IN_TOKEN,
            SignInFailure::Name => messages::SIGN_IN_NAME,
            SignInFailure::Taken => messages::SIGN_IN_TAKEN,
            SignInFailure::Internal => messages::SIGN_IN_INTERNAL,
        }
    }
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
    /// When it stops (or stopped) working (ms), if ever.
    pub expires_at: Option<i64>,
    /// Live but past its expiry.
    pub expired: bool,
    /// When it was last used (ms; written at most once a minute), if ever.
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensPage {
    pub tokens: Vec<TokenView>,
}

#[cfg(test)]
mod tests {
    use super::SignInFailure;

    #[test]
    fn every_sign_in_failure_reads_back_from_its_code_and_says_something_of_its_own() {
        let mut messages = std::collections::HashSet::new();
        for failure in SignInFailure::ALL {
            assert_eq!(SignInFailure::from_code(failure.code()), Some(failure));
            assert!(messages.insert(failure.message().en), "{failure:?}");
        }
        assert_eq!(SignInFailure::from_code("<script>"), None);
    }
}

/// An account as the Users page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub name: String,
    /// Kiln's own account (with a password), or the identity provider's.
    pub local: bool,
    pub system_admin: bool,
    pub disabled: bool,
}

/// The Users page: every account, and whether Kiln keeps passwords here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<UserView>,
    pub passwords_here: bool,
}

/// A member of a group as its Members page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user: String,
    pub role: Role,
    /// Made in Kiln (it may be removed here), or by the identity provider.
    pub local: bool,
}

/// A group's Members page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub group: String,
    pub members: Vec<MemberView>,
    /// People sign in through an identity provider, which owns the memberships it lists.
    pub provider_owned: bool,
}

/// A group as the Groups page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub name: String,
    pub members: i64,
    pub images: i64,
}
