//! The coded refusals of the rules: each a stable code and its English wording. Pages show
//! them in the user's language (the zh-TW catalog has each wording); the REST API answers
//! `message_code` and `params` beside the English `message`.

use super::field::Message;

pub const REQUIRED: Message = Message::new("required", "is required");
pub const TOO_LONG: Message = Message::new("too_long", "must be at most {max} characters");
pub const CONTROL_CHARACTERS: Message =
    Message::new("control_characters", "may not contain control characters");
pub const DISPLAY_NAME_CHARSET: Message = Message::new(
    "display_name.charset",
    "may contain only lowercase letters, digits, '.' and '-', not {found}",
);
pub const DISPLAY_NAME_UPPERCASE: Message = Message::new(
    "display_name.uppercase",
    "may contain only lowercase letters, digits, '.' and '-', not '{found}' (use lowercase)",
);
pub const NAME_EDGES: Message =
    Message::new("name.edges", "must start and end with a letter or digit");
pub const NAME_START: Message = Message::new("name.start", "must start with a letter or digit");
pub const GROUP_NAME_CHARSET: Message = Message::new(
    "group_name.charset",
    "may contain only lowercase letters, digits, '-', '_' and '.'",
);
pub const GROUP_NAME_RESERVED: Message = Message::new(
    "group_name.reserved",
    "is reserved: the global images are pushed under that name",
);
pub const USER_NAME_CHARSET: Message = Message::new(
    "user_name.charset",
    "may contain only letters, digits, '.', '_', '-', '@' and '+'",
);
pub const NOT_AN_IMAGE_NAME: Message = Message::new("image_name.invalid", "is not an image name");
pub const IMAGE_TYPE: Message = Message::new("image_type.unknown", "must be cpu, gpu or universal");
pub const PULL_SECRET_CHOOSE: Message = Message::new(
    "pull_secret.choose",
    "choose a pull secret, or untick the box",
);
pub const GPU_URL_NOT_UNIVERSAL: Message = Message::new(
    "gpu_url.not_universal",
    "only universal images name a separate GPU image; leave it out, or choose universal",
);
/// The reference grammar's own reasons are not coded one by one: translations put them
/// after a sentence of their own.
pub const IMAGE_REFERENCE: Message = Message::new("image_reference.invalid", "{why}");
pub const PACKAGES_NONE: Message = Message::new(
    "packages.none",
    "give at least one package, in APT, Conda or Pip",
);
pub const PACKAGES_BOX_TOO_BIG: Message =
    Message::new("packages.box_too_big", "{box}: at most {max} bytes");
pub const PACKAGES_LINE: Message = Message::new(
    "packages.line",
    "{box} line {line}: \u{201c}{text}\u{201d} {why}",
);

// Refusals that are not about one field.
pub const NOT_IN_GROUP: Message = Message::new(
    "forbidden.not_in_group",
    "You are not a member of group {group}.",
);
pub const NEEDS_GROUP_ADMIN: Message = Message::new(
    "forbidden.needs_group_admin",
    "Only the group admins of group {group} can manage its images. You are a member; ask one of its admins.",
);
pub const NEEDS_SYSTEM_ADMIN: Message = Message::new(
    "forbidden.needs_system_admin",
    "Only system admins can do this.",
);
pub const READ_ONLY_TOKEN: Message = Message::new(
    "forbidden.read_only_token",
    "This token has the read scope; it cannot change anything.",
);
pub const TOKEN_ONLY_LAUNCHABLE: Message = Message::new(
    "forbidden.token_only_launchable",
    "This token acts for no user; it may only read launchable images.",
);
pub const ACCOUNT_DISABLED: Message = Message::new(
    "forbidden.account_disabled",
    "The account {user} is disabled: its sessions and tokens no longer work. A system admin can enable it again.",
);
pub const NO_SUCH_GROUP: Message = Message::new("not_found.group", "There is no group {name}.");
pub const STALE: Message = Message::new(
    "conflict.stale",
    "This was changed by someone else since you opened it. Nothing was overwritten; reload to see the current version.",
);

// Things that do not exist, or exist already (`what` of a backend lookup).
pub const NO_SUCH_USER: Message = Message::new("not_found.user", "There is no user {name}.");
pub const NO_SUCH_IMAGE: Message = Message::new("not_found.image", "There is no image {name}.");
pub const NO_SUCH_BUILD: Message = Message::new("not_found.build", "There is no build {name}.");
pub const NO_SUCH_TOKEN: Message = Message::new("not_found.token", "There is no token {name}.");
pub const NO_SUCH_CREDENTIAL: Message =
    Message::new("not_found.credential", "There is no credential {name}.");
pub const NO_SUCH_THING: Message = Message::new("not_found.other", "There is no {what} {name}.");
pub const USER_EXISTS: Message =
    Message::new("conflict.user_exists", "There is a user {name} already.");
pub const GROUP_EXISTS: Message =
    Message::new("conflict.group_exists", "There is a group {name} already.");
pub const TOKEN_EXISTS: Message =
    Message::new("conflict.token_exists", "There is a token {name} already.");
pub const CREDENTIAL_EXISTS: Message = Message::new(
    "conflict.credential_exists",
    "There is a credential {name} already.",
);
pub const THING_EXISTS: Message =
    Message::new("conflict.other_exists", "There is a {what} {name} already.");
pub const NO_SUCH_ROUTE: Message = Message::new("not_found.route", "There is no such API route.");
pub const IMAGE_HAS_NO_BUILD: Message = Message::new(
    "not_found.build_of_image",
    "Image {image} has no build {build}.",
);
pub const NOT_A_MEMBER: Message = Message::new(
    "not_found.membership",
    "{user} is not a member of group {group}.",
);

// Refusals of who may do what, beyond the policy's.
pub const NOT_IN_BUILD_GROUP: Message = Message::new(
    "forbidden.not_in_build_group",
    "You are not a member of this build's group.",
);
pub const NEEDS_BUILD_GROUP_ADMIN: Message = Message::new(
    "forbidden.needs_build_group_admin",
    "Only the group admins of this build's group can do this. You are a member; ask one of its admins.",
);
pub const GROUPS_EXPIRED: Message = Message::new(
    "forbidden.groups_expired",
    "This token acts for {user}, whose groups come from the identity provider and have not been confirmed recently enough. It works again once {user} signs in to Kiln.",
);
pub const SIGN_IN_BY_PROXY: Message = Message::new(
    "forbidden.sign_in_by_proxy",
    "Sign-in is handled by your organisation's identity proxy.",
);
pub const SIGN_IN_BY_OIDC: Message = Message::new(
    "forbidden.sign_in_by_oidc",
    "Sign in with your organisation's account: passwords are not used here.",
);
pub const READ_TOKEN_REVOKES: Message = Message::new(
    "forbidden.read_token_revokes",
    "A read token may not revoke tokens; sign in, or use a write token.",
);
pub const NO_OWN_TOKENS: Message = Message::new(
    "forbidden.no_own_tokens",
    "Only a user has tokens of their own; this caller is not one.",
);
pub const ONLY_USERS_CHANGE_PASSWORDS: Message = Message::new(
    "forbidden.only_users_change_passwords",
    "Only a user changes their password.",
);
pub const PASSWORD_NOT_BY_TOKEN: Message = Message::new(
    "forbidden.password_not_by_token",
    "A password is changed by its owner in the browser or with their session, not with a token.",
);
pub const CLI_LAUNCHES_NOTHING: Message = Message::new(
    "forbidden.cli_launches_nothing",
    "The command line launches nothing; ask for a user's list.",
);
pub const TOKEN_HAS_NO_LIST: Message = Message::new(
    "forbidden.token_has_no_list",
    "This token acts for no user; ask for a user's list: /api/v1/users/{user}/launchable-images.",
);
pub const OTHERS_LAUNCH_LIST: Message = Message::new(
    "forbidden.others_launch_list",
    "Only system admins and service tokens may read another user's launchable images.",
);

// Conflicts with what is stored.
pub const IMAGE_NOT_BUILT: Message = Message::new(
    "conflict.image_not_built",
    "Image {image} was registered by its URL, not built by Kiln; edit it instead.",
);
pub const IMAGE_NO_SUCCESSFUL_BUILD: Message = Message::new(
    "conflict.image_no_successful_build",
    "Image {image} has no successful build yet; see its Build Details, or Rebuild.",
);
pub const IMAGE_BEING_BUILT: Message = Message::new(
    "conflict.image_being_built",
    "Image {image} is being built (build {build}). Cancel the build on its Build Details, then delete the image.",
);
pub const BUILD_ENDED: Message = Message::new(
    "conflict.build_ended",
    "Build {build} of {image} has already ended.",
);
pub const BUILD_HAS_NO_SBOM: Message = Message::new(
    "conflict.build_has_no_sbom",
    "Build {build} of {image} has not succeeded, so it has no SBOM: only a successful build records its packages.",
);
pub const BUILD_SBOM_UNRECORDED: Message = Message::new(
    "conflict.build_sbom_unrecorded",
    "Build {build} of {image} reused an image the registry already had, and Kiln has no record of that image's packages.",
);
pub const CREDENTIAL_UNOPENABLE: Message = Message::new(
    "conflict.credential_unopenable",
    "Credential {name} opens with neither the old key nor the configured one; nothing was re-sealed.",
);
pub const CREDENTIAL_IN_USE: Message = Message::new(
    "conflict.credential_in_use",
    "Credential {name} is in use by {users}. Choose another pull secret for them (or wait for the builds), then delete it.",
);
pub const CREDENTIAL_CAME_INTO_USE: Message = Message::new(
    "conflict.credential_came_into_use",
    "Credential {name} came into use; nothing was deleted.",
);
pub const GROUP_HAS_IMAGES: Message = Message::new(
    "conflict.group_has_images",
    "Group {group} still has {images} image(s); deleting it would delete them and their builds. Delete or move them first.",
);
pub const MEMBER_BY_PROVIDER: Message = Message::new(
    "conflict.member_by_provider",
    "The identity provider made {user} a member of group {group}; remove them there.",
);
pub const NOT_YOUR_OWN_DISABLE: Message = Message::new(
    "conflict.disable_self",
    "You cannot disable your own account; ask another system admin.",
);
pub const NOT_YOUR_OWN_DELETE: Message = Message::new(
    "conflict.delete_self",
    "You cannot delete your own account; ask another system admin.",
);
pub const PASSWORD_AT_PROVIDER: Message = Message::new(
    "conflict.password_at_provider",
    "{user} signs in with the identity provider; Kiln keeps no password for them.",
);
pub const OWN_PASSWORD_AT_PROVIDER: Message = Message::new(
    "conflict.own_password_at_provider",
    "You sign in with your organisation's account; change your password there.",
);
pub const TOKEN_NEEDS_JAVASCRIPT: Message = Message::new(
    "conflict.token_needs_javascript",
    "Creating a token needs JavaScript, so that its secret can be shown once; or use `kiln token create`.",
);

// Refusals of the request itself.
pub const SIGN_IN_FIRST: Message = Message::new("unauthenticated", "Please sign in first.");
pub const BAD_CREDENTIALS: Message =
    Message::new("bad_credentials", "Wrong user name or password.");
pub const BAD_TOKEN: Message =
    Message::new("bad_token", "The service token is unknown or was revoked.");
pub const TOKEN_EXPIRED: Message = Message::new(
    "token_expired",
    "The service token {name} expired at {at}; ask for a new one.",
);
pub const CROSS_SITE: Message = Message::new("cross_site", "Cross-site requests are not allowed.");
pub const TRANSPORT: Message = Message::new("transport", "The server could not be reached: {why}");
pub const INTERNAL: Message = Message::new(
    "internal",
    "Something went wrong on the server; it has been logged.",
);
/// The request's own fault, in the words of the parser that found it.
pub const BAD_REQUEST: Message = Message::new("bad_request", "{why}");
pub const TOO_LARGE: Message = Message::new(
    "too_large",
    "The request body is larger than {kib} KiB, the most Kiln reads.",
);
pub const TIMEOUT: Message = Message::new(
    "timeout",
    "Kiln stopped working on this request after {seconds} s; nothing it was changing was kept. Try again.",
);
pub const BUSY_CHECKING_SIGN_INS: Message = Message::new(
    "too_many_attempts.busy",
    "Kiln is busy checking other sign-ins. Try again in a second.",
);
pub const SIGN_INS_FROM_ADDRESS: Message = Message::new(
    "too_many_attempts.address",
    "Too many sign-ins from your address. Try again in {seconds} s.",
);
pub const SIGN_INS_FOR_USER: Message = Message::new(
    "too_many_attempts.user",
    "Too many failed sign-ins for {user}. Try again in {seconds} s.",
);
pub const LOG_STREAMS_YOURS: Message = Message::new(
    "too_many_attempts.your_log_streams",
    "You are following {count} live logs already; close one of those pages and try again.",
);
pub const LOG_STREAMS_ALL: Message = Message::new(
    "too_many_attempts.log_streams",
    "Kiln is serving as many live logs as it can; try again in a moment.",
);

// Field rules beyond the image form's.
pub const PASSWORD_TOO_SHORT: Message =
    Message::new("password.too_short", "must be at least {min} characters");
pub const NOT_CURRENT_PASSWORD: Message =
    Message::new("password.not_current", "is not your current password");
pub const NOTHING_TO_CHANGE: Message = Message::new(
    "credential.nothing_to_change",
    "enter a new username or password to change",
);
pub const NO_GROUP_NAMED: Message = Message::new("groups.unknown", "there is no group {group}");
pub const DISPLAY_NAME_TAKEN: Message = Message::new(
    "display_name.taken",
    "gives the image name {name}, which this group already has; choose another display name",
);
pub const TOKEN_SCOPE: Message = Message::new("token.scope", "must be read or write");
pub const WRITE_TOKEN_USER: Message = Message::new(
    "token.write_needs_user",
    "is required for a write token: it acts as that user",
);
pub const CREDENTIAL_NAME_CHARSET: Message = Message::new(
    "credential_name.charset",
    "may contain only lowercase letters, digits, '-', '_' and '.'",
);
pub const REGISTRY_HOST: Message = Message::new(
    "registry.host",
    "must be a registry host, e.g. ghcr.io or registry.example.org:5000",
);
pub const USERNAME_REQUIRED: Message = Message::new(
    "username.required",
    "is required and may not contain control characters",
);
pub const PULL_SECRET_NOT_ALLOWED: Message = Message::new(
    "pull_secret.not_allowed",
    "{name} is not a pull secret this group may use",
);
pub const BUILDS_OFF: Message = Message::new("builder.off", "{why}");
pub const BASE_IMAGE_OTHER_GROUP: Message = Message::new(
    "base_image.other_group",
    "The base image {base} could not be read: it is among another group's images; choose one of this group's images or a global one.",
);
pub const BASE_IMAGE_UNREADABLE: Message = Message::new(
    "base_image.unreadable",
    "The base image {base} could not be read: {why}",
);
pub const BASE_IMAGE_USER: Message = Message::new(
    "base_image.user",
    "has a configured user that is not a plain user name or id",
);
pub const BASE_IMAGE_DIGEST: Message = Message::new(
    "base_image.digest",
    "resolved to a digest that is not sha256",
);
pub const LANGUAGE: Message = Message::new("lang.unknown", "must be en or zh-TW");
pub const SUCCESSOR_NAME: Message = Message::new(
    "successor.invalid",
    "must be the image name of another image",
);
pub const SUCCESSOR_UNKNOWN: Message = Message::new(
    "successor.unknown",
    "names no image in this group or among the global images: {name}",
);
pub const SUCCESSOR_UNKNOWN_GLOBAL: Message = Message::new(
    "successor.unknown_global",
    "names no image among the global images: {name}",
);
pub const ROLE: Message = Message::new("role.unknown", "must be member or admin");
pub const SUCCESSOR_SELF: Message =
    Message::new("successor.self", "must be another image, not this one");
pub const SUCCESSOR_DEPRECATED: Message = Message::new(
    "successor.deprecated",
    "{name} is deprecated itself; name the image that replaces it",
);
pub const SUCCESSOR_RETIRED: Message = Message::new(
    "successor.retired",
    "{name} is retired; name an image launch pages offer",
);
pub const RETIRE_ON_PAST: Message = Message::new(
    "retire_on.past",
    "must be a date after today; to retire it now, use Retire now",
);
pub const DATE: Message = Message::new("date.invalid", "must be a date like 2026-11-30");
pub const DURATION: Message = Message::new(
    "duration.invalid",
    "must be a number of days, hours or minutes, like 90d, 12h or 30m",
);
pub const DURATION_ZERO: Message = Message::new("duration.zero", "must be longer than nothing");
pub const DURATION_TOO_LONG: Message =
    Message::new("duration.too_long", "may be at most ten years (3650d)");

// Why a sign-in with the identity provider failed (the sign-in page's `?failed=` code).
pub const SIGN_IN_STATE: Message = Message::new(
    "sign_in.state",
    "This sign-in was not started in this browser, or took too long. Nobody was signed in; start again.",
);
pub const SIGN_IN_PROVIDER: Message = Message::new(
    "sign_in.provider",
    "The identity provider did not sign you in. Start again, or ask your administrator for access.",
);
pub const SIGN_IN_DISABLED: Message = Message::new(
    "sign_in.disabled",
    "Your Kiln account is disabled. A system admin can enable it again.",
);
pub const SIGN_IN_UNREACHABLE: Message = Message::new(
    "sign_in.unreachable",
    "Kiln could not reach the identity provider. Try again in a moment; if it persists, tell your administrator.",
);
pub const SIGN_IN_TOKEN: Message = Message::new(
    "sign_in.token",
    "The identity provider's answer failed Kiln's checks (its ID token was invalid, expired, or not meant for this Kiln). Nobody was signed in; tell your administrator.",
);
pub const SIGN_IN_NAME: Message = Message::new(
    "sign_in.name",
    "The identity provider did not give a user name Kiln can use. Tell your administrator.",
);
pub const SIGN_IN_TAKEN: Message = Message::new(
    "sign_in.taken",
    "A Kiln account with your user name belongs to someone else at the identity provider. Nobody was signed in; ask a system admin.",
);
pub const SIGN_IN_INTERNAL: Message = Message::new(
    "sign_in.internal",
    "Something went wrong on Kiln's side; it has been logged. Try again in a moment.",
);

// Where an image stands, and why a launch cannot run it.
pub const STANDING_CURRENT: Message =
    Message::new("standing.current", "In use: launch pages offer it.");
pub const STANDING_RETIRED: Message = Message::new(
    "standing.retired",
    "Retired on {date}: launch pages no longer offer it. It stays in the catalog with its builds; Restore offers it again.",
);
pub const DEPRECATED: Message = Message::new("standing.deprecated", "Deprecated.");
pub const DEPRECATED_USE: Message = Message::new(
    "standing.deprecated_successor",
    "Deprecated — use {successor} instead.",
);
pub const DEPRECATED_UNTIL: Message = Message::new(
    "standing.deprecated_until",
    "Deprecated; it leaves the launch list on {date}.",
);
pub const DEPRECATED_USE_UNTIL: Message = Message::new(
    "standing.deprecated_successor_until",
    "Deprecated — use {successor} instead; it leaves the launch list on {date}.",
);
pub const LAUNCH_RETIRED: Message = Message::new(
    "launch.retired",
    "Retired: launch pages no longer offer it.",
);
pub const LAUNCH_FIRST_BUILD_RUNNING: Message = Message::new(
    "launch.first_build_running",
    "Not ready: its first build is still running.",
);
pub const LAUNCH_NO_SUCCESSFUL_BUILD: Message = Message::new(
    "launch.no_successful_build",
    "Not ready: it has no successful build yet.",
);
pub const LAUNCH_NEEDS_GPU: Message = Message::new(
    "launch.needs_gpu",
    "A GPU image: it needs a launch with a GPU.",
);
pub const LAUNCH_CPU_ONLY: Message = Message::new(
    "launch.cpu_only",
    "A CPU-only image: it will not use the GPU.",
);

/// A backend lookup's "no such {what}".
pub fn not_found(what: &str) -> Message {
    match what {
        "user" => NO_SUCH_USER,
        "group" => NO_SUCH_GROUP,
        "image" => NO_SUCH_IMAGE,
        "build" => NO_SUCH_BUILD,
        "token" => NO_SUCH_TOKEN,
        "credential" => NO_SUCH_CREDENTIAL,
        _ => NO_SUCH_THING,
    }
}

/// A unique name taken already.
pub fn already_exists(what: &str) -> Message {
    match what {
        "user" => USER_EXISTS,
        "group" => GROUP_EXISTS,
        "token" => TOKEN_EXISTS,
        "credential" => CREDENTIAL_EXISTS,
        _ => THING_EXISTS,
    }
}

/// Every coded message, for finding one by its code.
pub const ALL: &[Message] = &[
    REQUIRED,
    TOO_LONG,
    CONTROL_CHARACTERS,
    DISPLAY_NAME_CHARSET,
    DISPLAY_NAME_UPPERCASE,
    NAME_EDGES,
    NAME_START,
    GROUP_NAME_CHARSET,
    GROUP_NAME_RESERVED,
    USER_NAME_CHARSET,
    NOT_AN_IMAGE_NAME,
    IMAGE_TYPE,
    PULL_SECRET_CHOOSE,
    GPU_URL_NOT_UNIVERSAL,
    IMAGE_REFERENCE,
    PACKAGES_NONE,
    PACKAGES_BOX_TOO_BIG,
    PACKAGES_LINE,
    NOT_IN_GROUP,
    NEEDS_GROUP_ADMIN,
    NEEDS_SYSTEM_ADMIN,
    READ_ONLY_TOKEN,
    TOKEN_ONLY_LAUNCHABLE,
    ACCOUNT_DISABLED,
    NO_SUCH_GROUP,
    STALE,
    NO_SUCH_USER,
    NO_SUCH_IMAGE,
    NO_SUCH_BUILD,
    NO_SUCH_TOKEN,
    NO_SUCH_CREDENTIAL,
    NO_SUCH_THING,
    USER_EXISTS,
    GROUP_EXISTS,
    TOKEN_EXISTS,
    CREDENTIAL_EXISTS,
    THING_EXISTS,
    NO_SUCH_ROUTE,
    IMAGE_HAS_NO_BUILD,
    NOT_A_MEMBER,
    NOT_IN_BUILD_GROUP,
    NEEDS_BUILD_GROUP_ADMIN,
    GROUPS_EXPIRED,
    SIGN_IN_BY_PROXY,
    SIGN_IN_BY_OIDC,
    READ_TOKEN_REVOKES,
    NO_OWN_TOKENS,
    ONLY_USERS_CHANGE_PASSWORDS,
    PASSWORD_NOT_BY_TOKEN,
    CLI_LAUNCHES_NOTHING,
    TOKEN_HAS_NO_LIST,
    OTHERS_LAUNCH_LIST,
    IMAGE_NOT_BUILT,
    IMAGE_NO_SUCCESSFUL_BUILD,
    IMAGE_BEING_BUILT,
    BUILD_ENDED,
    BUILD_HAS_NO_SBOM,
    BUILD_SBOM_UNRECORDED,
    CREDENTIAL_UNOPENABLE,
    CREDENTIAL_IN_USE,
    CREDENTIAL_CAME_INTO_USE,
    GROUP_HAS_IMAGES,
    MEMBER_BY_PROVIDER,
    NOT_YOUR_OWN_DISABLE,
    NOT_YOUR_OWN_DELETE,
    PASSWORD_AT_PROVIDER,
    OWN_PASSWORD_AT_PROVIDER,
    TOKEN_NEEDS_JAVASCRIPT,
    SIGN_IN_FIRST,
    BAD_CREDENTIALS,
    BAD_TOKEN,
    TOKEN_EXPIRED,
    INTERNAL,
    TRANSPORT,
    CROSS_SITE,
    STANDING_CURRENT,
    STANDING_RETIRED,
    DEPRECATED,
    DEPRECATED_USE,
    DEPRECATED_UNTIL,
    DEPRECATED_USE_UNTIL,
    LAUNCH_RETIRED,
    LAUNCH_FIRST_BUILD_RUNNING,
    LAUNCH_NO_SUCCESSFUL_BUILD,
    LAUNCH_NEEDS_GPU,
    LAUNCH_CPU_ONLY,
    SIGN_IN_STATE,
    SIGN_IN_PROVIDER,
    SIGN_IN_DISABLED,
    SIGN_IN_UNREACHABLE,
    SIGN_IN_TOKEN,
    SIGN_IN_NAME,
    SIGN_IN_TAKEN,
    SIGN_IN_INTERNAL,
    BAD_REQUEST,
    TOO_LARGE,
    TIMEOUT,
    BUSY_CHECKING_SIGN_INS,
    SIGN_INS_FROM_ADDRESS,
    SIGN_INS_FOR_USER,
    LOG_STREAMS_YOURS,
    LOG_STREAMS_ALL,
    PASSWORD_TOO_SHORT,
    NOT_CURRENT_PASSWORD,
    NOTHING_TO_CHANGE,
    NO_GROUP_NAMED,
    DISPLAY_NAME_TAKEN,
    TOKEN_SCOPE,
    WRITE_TOKEN_USER,
    CREDENTIAL_NAME_CHARSET,
    REGISTRY_HOST,
    USERNAME_REQUIRED,
    PULL_SECRET_NOT_ALLOWED,
    BUILDS_OFF,
    BASE_IMAGE_OTHER_GROUP,
    BASE_IMAGE_UNREADABLE,
    BASE_IMAGE_USER,
    BASE_IMAGE_DIGEST,
    LANGUAGE,
    SUCCESSOR_NAME,
    SUCCESSOR_UNKNOWN,
    SUCCESSOR_UNKNOWN_GLOBAL,
    ROLE,
    SUCCESSOR_SELF,
    SUCCESSOR_DEPRECATED,
    SUCCESSOR_RETIRED,
    RETIRE_ON_PAST,
    DATE,
    DURATION,
    DURATION_ZERO,
    DURATION_TOO_LONG,
];

/// The message with this code.
pub fn by_code(code: &str) -> Option<Message> {
    ALL.iter().copied().find(|m| m.code == code)
}
