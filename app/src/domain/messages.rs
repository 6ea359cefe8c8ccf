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
pub const NO_SUCH_GROUP: Message = Message::new("not_found.group", "There is no group {group}.");
pub const STALE: Message = Message::new(
    "conflict.stale",
    "This was changed by someone else since you opened it. Nothing was overwritten; reload to see the current version.",
);

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
];

/// The message with this code.
pub fn by_code(code: &str) -> Option<Message> {
    ALL.iter().copied().find(|m| m.code == code)
}
