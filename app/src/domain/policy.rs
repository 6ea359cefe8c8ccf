//! The one answer to "may this actor do this action on this resource".
//!
//! The server resolves the target from what is *stored* (an image's owner group as read
//! from the database, never a group the client names) and then asks [`decide`].

use serde::{Deserialize, Serialize};

use super::Role;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    Anonymous,
    User(Principal),
    /// A service token bound to no user (a launch page's backend): it may only read which
    /// images users may launch.
    Service(ServiceToken),
    /// Whoever runs the `kiln` command line where Kiln is deployed: they hold its database
    /// and its key already, so the policy lets them do everything, and the audit log names
    /// them [`Actor::OPERATOR`].
    Operator,
}

impl Actor {
    /// How the audit log names the operator: not a valid user name, so never a user's.
    pub const OPERATOR: &'static str = "operator:cli";
}

/// What a service token may do: read, or also change things (as its user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenScope {
    Read,
    Write,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Option<TokenScope> {
        match s {
            "read" => Some(TokenScope::Read),
            "write" => Some(TokenScope::Write),
            _ => None,
        }
    }
}

/// How long a new token lives: `90d`, `12h` or `30m`; empty for a token that does not
/// expire. At most ten years.
pub fn token_lifetime(
    field: &str,
    text: &str,
) -> Result<Option<std::time::Duration>, super::FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let invalid = || super::FieldError::coded(field, super::messages::DURATION, &[]);
    let (number, unit) = text.split_at(text.len() - text.chars().last().map_or(0, char::len_utf8));
    let unit_secs = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        _ => return Err(invalid()),
    };
    let n: u64 = number.parse().map_err(|_| invalid())?;
    if n == 0 {
        return Err(super::FieldError::coded(
            field,
            super::messages::DURATION_ZERO,
            &[],
        ));
    }
    let secs = n.saturating_mul(unit_secs);
    if secs > 3650 * 86_400 {
        return Err(super::FieldError::coded(
            field,
            super::messages::DURATION_TOO_LONG,
            &[],
        ));
    }
    Ok(Some(std::time::Duration::from_secs(secs)))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceToken {
    pub name: String,
    pub scope: TokenScope,
}

/// A signed-in user with the memberships stored for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub id: i64,
    pub name: String,
    pub system_admin: bool,
    pub memberships: Vec<Membership>,
    /// Set when the request came with a service token bound to this user: it acts as the
    /// user, within the token's scope.
    pub token: Option<TokenScope>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub group_id: i64,
    pub group: String,
    pub role: Role,
}

impl Principal {
    /// The role held in the group with this stored id; exact id match, never by name.
    pub fn role_in(&self, group_id: i64) -> Option<Role> {
        self.memberships
            .iter()
            .find(|m| m.group_id == group_id)
            .map(|m| m.role)
    }
}

/// Everything Kiln lets somebody do. Adding one here makes the matrix test ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open a group's Images page: its images, builds and build logs.
    ViewGroupImages,
    /// Create, edit or delete an image of a group.
    ManageGroupImages,
    /// Start, cancel or rebuild a build of a group's image.
    BuildGroupImages,
    /// See a group's ready images in launch pickers and the selection API.
    LaunchGroupImages,
    /// Create, edit or delete global images.
    ManageGlobalImages,
    /// Create registry credentials and choose which groups may use them.
    ManageCredentials,
    /// Create groups and users, disable them, reset passwords.
    ManageAccounts,
    /// Add and remove a group's members, grant and revoke its admin role.
    ManageGroupMembers,
    /// Read the audit log: all of it (system admins) or a group's entries (its admins).
    ViewAuditLog,
    /// List the global images (read only).
    ViewGlobalImages,
    /// Read which images any user may launch: what launch pages ask with a service token.
    ViewAnyUsersLaunchable,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Action::ViewGroupImages,
        Action::ManageGroupImages,
        Action::BuildGroupImages,
        Action::LaunchGroupImages,
        Action::ManageGlobalImages,
        Action::ManageCredentials,
        Action::ManageAccounts,
        Action::ManageGroupMembers,
        Action::ViewAuditLog,
        Action::ViewGlobalImages,
        Action::ViewAnyUsersLaunchable,
    ];

    /// Whether the action changes something: a read-scope token may not do it.
    pub fn changes(self) -> bool {
        match self {
            Action::ManageGroupImages
            | Action::BuildGroupImages
            | Action::ManageGlobalImages
            | Action::ManageCredentials
            | Action::ManageAccounts
            | Action::ManageGroupMembers => true,
            Action::ViewGroupImages
            | Action::LaunchGroupImages
            | Action::ViewAuditLog
            | Action::ViewGlobalImages
            | Action::ViewAnyUsersLaunchable => false,
        }
    }

    /// Who may do it, at least: a group member, a group admin, or only a system admin.
    fn needs(self) -> Needs {
        match self {
            Action::LaunchGroupImages => Needs::Role(Role::Member),
            Action::ViewGroupImages
            | Action::ManageGroupImages
            | Action::BuildGroupImages
            | Action::ManageGroupMembers
            | Action::ViewAuditLog => Needs::Role(Role::Admin),
            Action::ManageGlobalImages
            | Action::ManageCredentials
            | Action::ManageAccounts
            | Action::ViewGlobalImages
            | Action::ViewAnyUsersLaunchable => Needs::SystemAdmin,
        }
    }
}

enum Needs {
    Role(Role),
    SystemAdmin,
}

/// What the action is done to, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Platform-wide things: global images, credentials, accounts.
    System,
    /// Something owned by the group with this stored id.
    Group(i64),
}

/// Why an action is refused; the API turns it into 401 or 403 and a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    NotSignedIn,
    /// Signed in, but not in the target group at all.
    NotInGroup,
    /// A member of the target group, but the action needs its admins.
    NeedsGroupAdmin,
    /// Only system admins may do this.
    NeedsSystemAdmin,
    /// The request came with a read-scope token and the action changes something.
    ReadOnlyToken,
    /// A service token bound to no user may only read launchable images.
    ServiceTokenOnlyLaunchable,
}

pub fn decide(actor: &Actor, action: Action, target: Target) -> Result<(), Denied> {
    let user = match actor {
        Actor::Anonymous => return Err(Denied::NotSignedIn),
        Actor::Operator => return Ok(()),
        Actor::Service(_) if action == Action::ViewAnyUsersLaunchable => return Ok(()),
        Actor::Service(_) => return Err(Denied::ServiceTokenOnlyLaunchable),
        Actor::User(user) => user,
    };
    if user.token == Some(TokenScope::Read) && action.changes() {
        return Err(Denied::ReadOnlyToken);
    }
    // A read-scope token may read launchable images, for any user (a launch page's backend
    // asks for whoever launches). A write token acts as its user, no further.
    let reads_for_launch_pages =
        user.token == Some(TokenScope::Read) && action == Action::ViewAnyUsersLaunchable;
    if user.system_admin || reads_for_launch_pages {
        return Ok(());
    }
    match (action.needs(), target) {
        (Needs::SystemAdmin, _) | (Needs::Role(_), Target::System) => Err(Denied::NeedsSystemAdmin),
        (Needs::Role(needed), Target::Group(group_id)) => match (user.role_in(group_id), needed) {
            (None, _) => Err(Denied::NotInGroup),
            (Some(Role::Admin), _) | (Some(Role::Member), Role::Member) => Ok(()),
            (Some(Role::Member), Role::Admin) => Err(Denied::NeedsGroupAdmin),
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_lifetimes_are_days_hours_or_minutes() {
        use std::time::Duration;
        assert_eq!(super::token_lifetime("expires_in", ""), Ok(None));
        assert_eq!(
            super::token_lifetime("expires_in", "90d"),
            Ok(Some(Duration::from_secs(90 * 86_400)))
        );
        assert_eq!(
            super::token_lifetime("expires_in", " 12h "),
            Ok(Some(Duration::from_secs(43_200)))
        );
        for bad in [
            "90",
            "d",
            "1.5d",
            "-1d",
            "0m",
            "3651d",
            "9999999999999999999d",
            "1é",
        ] {
            let e = super::token_lifetime("expires_in", bad).unwrap_err();
            assert_eq!(e.field, "expires_in", "{bad}");
        }
    }

    use super::*;

    const G: i64 = 1;
    const H: i64 = 2;

    fn user(system_admin: bool, memberships: &[(i64, Role)]) -> Actor {
        Actor::User(principal(system_admin, memberships, None))
    }

    fn through_token(scope: TokenScope, memberships: &[(i64, Role)]) -> Actor {
        Actor::User(principal(false, memberships, Some(scope)))
    }

    fn principal(
        system_admin: bool,
        memberships: &[(i64, Role)],
        token: Option<TokenScope>,
    ) -> Principal {
        Principal {
            id: 7,
            name: "someone".into(),
            system_admin,
            memberships: memberships
                .iter()
                .map(|&(group_id, role)| Membership {
                    group_id,
                    group: format!("g{group_id}"),
                    role,
                })
                .collect(),
            token,
        }
    }

    /// The expected answer for every actor, written out per action so a new action
    /// cannot slip through without its row.
    fn expected(who: &str, action: Action, target: Target) -> Result<(), Denied> {
        use Denied::*;
        let system = target == Target::System;
        match who {
            "anonymous" => Err(NotSignedIn),
            "operator" => Ok(()),
            "unbound read token" => match action {
                Action::ViewAnyUsersLaunchable => Ok(()),
                _ => Err(ServiceTokenOnlyLaunchable),
            },
            _ if who.contains("read token") && action.changes() => Err(ReadOnlyToken),
            _ if who.contains("read token") && action == Action::ViewAnyUsersLaunchable => Ok(()),
            "system admin" => Ok(()),
            _ if system => Err(NeedsSystemAdmin),
            _ => match action {
                Action::LaunchGroupImages => match who {
                    "member of G"
                    | "admin of G"
                    | "read token of admin of G"
                    | "write token of admin of G" => Ok(()),
                    _ => Err(NotInGroup),
                },
                Action::ViewGroupImages
                | Action::ManageGroupImages
                | Action::BuildGroupImages
                | Action::ManageGroupMembers
                | Action::ViewAuditLog => match who {
                    "admin of G" | "read token of admin of G" | "write token of admin of G" => {
                        Ok(())
                    }
                    "member of G" => Err(NeedsGroupAdmin),
                    _ => Err(NotInGroup),
                },
                Action::ManageGlobalImages
                | Action::ManageCredentials
                | Action::ManageAccounts
                | Action::ViewGlobalImages
                | Action::ViewAnyUsersLaunchable => Err(NeedsSystemAdmin),
            },
        }
    }

    #[test]
    fn authorization_matrix_covers_every_actor_action_and_target() {
        let actors = [
            ("anonymous", Actor::Anonymous),
            ("signed in, no group", user(false, &[])),
            ("member of G", user(false, &[(G, Role::Member)])),
            ("admin of H", user(false, &[(H, Role::Admin)])),
            ("admin of G", user(false, &[(G, Role::Admin)])),
            ("system admin", user(true, &[])),
            (
                "read token of admin of G",
                through_token(TokenScope::Read, &[(G, Role::Admin)]),
            ),
            (
                "write token of admin of G",
                through_token(TokenScope::Write, &[(G, Role::Admin)]),
            ),
            (
                "unbound read token",
                Actor::Service(ServiceToken {
                    name: "hub".into(),
                    scope: TokenScope::Read,
                }),
            ),
            ("operator", Actor::Operator),
        ];
        let mut checked = 0;
        for (who, actor) in &actors {
            for action in Action::ALL {
                for target in [Target::Group(G), Target::System] {
                    assert_eq!(
                        decide(actor, action, target),
                        expected(who, action, target),
                        "{who} / {action:?} / {target:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, actors.len() * Action::ALL.len() * 2);
    }

    #[test]
    fn the_operators_audit_name_is_no_user_name() {
        assert!(super::super::UserName::parse("user", Actor::OPERATOR).is_err());
    }

    #[test]
    fn group_identity_is_the_stored_id_not_a_similar_name() {
        // Admin of "ml-team" (id 2) asks about "ml" (id 1): the names share a prefix, the ids don't.
        let actor = Actor::User(Principal {
            id: 1,
            name: "a".into(),
            system_admin: false,
            memberships: vec![Membership {
                group_id: 2,
                group: "ml-team".into(),
                role: Role::Admin,
            }],
            token: None,
        });
        assert_eq!(
            decide(&actor, Action::ManageGroupImages, Target::Group(1)),
            Err(Denied::NotInGroup)
        );
    }
}
