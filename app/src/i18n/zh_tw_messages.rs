//! The zh-TW catalog, continued: the coded refusals beyond the image form's and the
//! policy's (`domain::messages`): things missing or taken, conflicts with what is stored,
//! the request's own faults and the other forms' rules. Same terms as [`super::zh_tw`].

/// English text → zh-TW text.
pub static ENTRIES: &[(&str, &str)] = &[
    // Missing, or taken already.
    ("There is no user {name}.", "沒有使用者 {name}。"),
    ("There is no image {name}.", "沒有映像檔 {name}。"),
    ("There is no build {name}.", "沒有第 {name} 次創建。"),
    ("There is no token {name}.", "沒有權杖 {name}。"),
    ("There is no credential {name}.", "沒有憑證 {name}。"),
    ("There is no {what} {name}.", "沒有 {what} {name}。"),
    ("There is a user {name} already.", "使用者 {name} 已存在。"),
    ("There is a group {name} already.", "群組 {name} 已存在。"),
    ("There is a token {name} already.", "權杖 {name} 已存在。"),
    (
        "There is a credential {name} already.",
        "憑證 {name} 已存在。",
    ),
    (
        "There is a {what} {name} already.",
        "{what} {name} 已存在。",
    ),
    ("There is no such API route.", "沒有這個 API 路徑。"),
    (
        "Image {image} has no build {build}.",
        "映像檔 {image} 沒有第 {build} 次創建。",
    ),
    (
        "{user} is not a member of group {group}.",
        "{user} 不是 {group} 群組的成員。",
    ),
    // Who may do what.
    (
        "You are not a member of this build's group.",
        "您不是此次創建所屬群組的成員。",
    ),
    (
        "Only the group admins of this build's group can do this. You are a member; ask one of its admins.",
        "只有此次創建所屬群組的群組管理者可以執行此操作。您是成員；請洽詢其群組管理者。",
    ),
    (
        "This token acts for {user}, whose groups come from the identity provider and have not been confirmed recently enough. It works again once {user} signs in to Kiln.",
        "此權杖代表 {user}，其群組來自身分提供者，且近期未經確認。待 {user} 登入 Kiln 後即可再次使用。",
    ),
    (
        "Sign-in is handled by your organisation's identity proxy.",
        "登入由您組織的身分代理處理。",
    ),
    (
        "Sign in with your organisation's account: passwords are not used here.",
        "請以組織帳號登入：此處不使用密碼。",
    ),
    (
        "A read token may not revoke tokens; sign in, or use a write token.",
        "唯讀權杖不能撤銷權杖；請登入，或使用可寫入的權杖。",
    ),
    (
        "Only a user changes their password.",
        "只有使用者本人能變更密碼。",
    ),
    (
        "Only a user has tokens of their own; this caller is not one.",
        "只有使用者才有自己的權杖；此呼叫者不是使用者。",
    ),
    (
        "A password is changed by its owner in the browser or with their session, not with a token.",
        "密碼須由本人在瀏覽器中或以登入階段變更，不能使用權杖。",
    ),
    (
        "The command line launches nothing; ask for a user's list.",
        "命令列不啟動任何映像檔；請查詢某位使用者的清單。",
    ),
    (
        "This token acts for no user; ask for a user's list: /api/v1/users/{user}/launchable-images.",
        "此權杖未綁定使用者；請查詢某位使用者的清單：/api/v1/users/{user}/launchable-images。",
    ),
    (
        "Only system admins and service tokens may read another user's launchable images.",
        "只有系統管理者與服務權杖能讀取其他使用者可啟動的映像檔。",
    ),
    // Conflicts with what is stored.
    (
        "Image {image} was registered by its URL, not built by Kiln; edit it instead.",
        "映像檔 {image} 是以網址登錄的，並非由 Kiln 創建；請改為編輯它。",
    ),
    (
        "Image {image} has no successful build yet; see its Build Details, or Rebuild.",
        "映像檔 {image} 尚無成功的創建；請查看其 Build Details，或 Rebuild。",
    ),
    (
        "Image {image} is being built (build {build}). Cancel the build on its Build Details, then delete the image.",
        "映像檔 {image} 正在創建中（第 {build} 次）。請先在其 Build Details 撤消創建，再刪除映像檔。",
    ),
    (
        "Build {build} of {image} has already ended.",
        "{image} 的第 {build} 次創建已經結束。",
    ),
    (
        "Build {build} of {image} has not succeeded, so it has no SBOM: only a successful build records its packages.",
        "{image} 的第 {build} 次創建未成功，因此沒有 SBOM：只有成功的創建才會記錄其套件。",
    ),
    (
        "Build {build} of {image} reused an image the registry already had, and Kiln has no record of that image's packages.",
        "{image} 的第 {build} 次創建沿用了 registry 中已有的映像檔，而 Kiln 沒有該映像檔的套件紀錄。",
    ),
    (
        "Credential {name} opens with neither the old key nor the configured one; nothing was re-sealed.",
        "憑證 {name} 無法以舊金鑰或目前設定的金鑰開啟；沒有任何憑證被重新加密。",
    ),
    (
        "Credential {name} is in use by {users}. Choose another pull secret for them (or wait for the builds), then delete it.",
        "憑證 {name} 正由 {users} 使用。請為它們改選其他 pull secret（或等待創建完成），再刪除。",
    ),
    (
        "Credential {name} came into use; nothing was deleted.",
        "憑證 {name} 剛被使用；沒有刪除任何內容。",
    ),
    (
        "Group {group} still has {images} image(s); deleting it would delete them and their builds. Delete or move them first.",
        "群組 {group} 仍有 {images} 個映像檔；刪除群組會一併刪除它們及其創建。請先刪除或移走它們。",
    ),
    (
        "The identity provider made {user} a member of group {group}; remove them there.",
        "{user} 是由身分提供者加入 {group} 群組的；請在身分提供者移除。",
    ),
    (
        "You cannot disable your own account; ask another system admin.",
        "您不能停用自己的帳號；請洽詢其他系統管理者。",
    ),
    (
        "You cannot delete your own account; ask another system admin.",
        "您不能刪除自己的帳號；請洽詢其他系統管理者。",
    ),
    (
        "{user} signs in with the identity provider; Kiln keeps no password for them.",
        "{user} 透過身分提供者登入；Kiln 沒有保存其密碼。",
    ),
    (
        "You sign in with your organisation's account; change your password there.",
        "您以組織帳號登入；請在該處變更密碼。",
    ),
    (
        "Creating a token needs JavaScript, so that its secret can be shown once; or use `kiln token create`.",
        "建立權杖需要 JavaScript，才能顯示一次其密鑰；或使用 `kiln token create`。",
    ),
    // The request itself.
    ("Please sign in first.", "請先登入。"),
    ("Wrong user name or password.", "使用者名稱或密碼錯誤。"),
    (
        "The service token is unknown or was revoked.",
        "服務權杖不存在或已被撤銷。",
    ),
    (
        "The service token {name} expired at {at}; ask for a new one.",
        "服務權杖 {name} 已於 {at} 過期；請申請新的權杖。",
    ),
    (
        "The server could not be reached: {why}",
        "無法連線到伺服器：{why}",
    ),
    ("Cross-site requests are not allowed.", "不允許跨站請求。"),
    (
        "Something went wrong on the server; it has been logged.",
        "伺服器發生錯誤，已記錄下來。",
    ),
    (
        "The request body is larger than {kib} KiB, the most Kiln reads.",
        "請求內容超過 Kiln 可讀取的上限 {kib} KiB。",
    ),
    (
        "Kiln stopped working on this request after {seconds} s; nothing it was changing was kept. Try again.",
        "Kiln 處理此請求超過 {seconds} 秒後已停止；其間的變更都未保留。請再試一次。",
    ),
    (
        "Kiln is busy checking other sign-ins. Try again in a second.",
        "Kiln 正忙於驗證其他登入。請稍候一秒再試。",
    ),
    (
        "Too many sign-ins from your address. Try again in {seconds} s.",
        "您的位址登入次數過多。請於 {seconds} 秒後再試。",
    ),
    (
        "Too many failed sign-ins for {user}. Try again in {seconds} s.",
        "{user} 登入失敗次數過多。請於 {seconds} 秒後再試。",
    ),
    (
        "You are following {count} live logs already; close one of those pages and try again.",
        "您已在追蹤 {count} 個即時記錄；請關閉其中一個頁面後再試。",
    ),
    (
        "Kiln is serving as many live logs as it can; try again in a moment.",
        "Kiln 提供的即時記錄已達上限；請稍後再試。",
    ),
    // The other forms' rules.
    ("must be at least {min} characters", "至少需要 {min} 個字元"),
    ("is not your current password", "不是您目前的密碼"),
    (
        "enter a new username or password to change",
        "請輸入要變更的新使用者名稱或密碼",
    ),
    ("there is no group {group}", "沒有 {group} 群組"),
    (
        "gives the image name {name}, which this group already has; choose another display name",
        "會產生映像檔名稱 {name}，但此群組已有同名映像檔；請選擇其他顯示名稱",
    ),
    ("must be read or write", "必須是 read 或 write"),
    (
        "is required for a write token: it acts as that user",
        "可寫入的權杖必須指定：權杖將代表該使用者",
    ),
    (
        "must be a registry host, e.g. ghcr.io or registry.example.org:5000",
        "必須是 registry 主機，例如 ghcr.io 或 registry.example.org:5000",
    ),
    (
        "is required and may not contain control characters",
        "為必填，且不得包含控制字元",
    ),
    (
        "{name} is not a pull secret this group may use",
        "{name} 不是此群組可使用的 pull secret",
    ),
    (
        "The base image {base} could not be read: it is among another group's images; choose one of this group's images or a global one.",
        "無法讀取基礎映像檔 {base}：它屬於其他群組的映像檔；請選擇此群組的映像檔或全域映像檔。",
    ),
    (
        "The base image {base} could not be read: {why}",
        "無法讀取基礎映像檔 {base}：{why}",
    ),
    (
        "has a configured user that is not a plain user name or id",
        "設定的使用者不是單純的使用者名稱或 ID",
    ),
    (
        "resolved to a digest that is not sha256",
        "解析出的 digest 不是 sha256",
    ),
    ("must be en or zh-TW", "必須是 en 或 zh-TW"),
    (
        "must be the image name of another image",
        "必須是另一個映像檔的名稱",
    ),
    (
        "must be another image, not this one",
        "必須是另一個映像檔，而非此映像檔",
    ),
    (
        "names no image in this group or among the global images: {name}",
        "此群組與全域映像檔中都沒有這個映像檔：{name}",
    ),
    (
        "names no image among the global images: {name}",
        "全域映像檔中沒有這個映像檔：{name}",
    ),
    ("must be member or admin", "必須是 member 或 admin"),
    (
        "{name} is deprecated itself; name the image that replaces it",
        "{name} 本身已停用；請指定取代它的映像檔",
    ),
    (
        "{name} is retired; name an image launch pages offer",
        "{name} 已下架；請指定啟動頁面仍提供的映像檔",
    ),
    (
        "must be a date after today; to retire it now, use Retire now",
        "必須是今天之後的日期；若要現在下架，請使用「立即下架」",
    ),
    (
        "must be a date like 2026-11-30",
        "必須是日期，例如 2026-11-30",
    ),
    (
        "must be a number of days, hours or minutes, like 90d, 12h or 30m",
        "必須是天數、時數或分鐘數，例如 90d、12h 或 30m",
    ),
    ("must be longer than nothing", "不能是零"),
    ("may be at most ten years (3650d)", "最多十年（3650d）"),
    // Signing in with the identity provider.
    (
        "This sign-in was not started in this browser, or took too long. Nobody was signed in; start again.",
        "此登入不是從這個瀏覽器開始的，或花費太久時間。沒有任何人登入；請重新開始。",
    ),
    (
        "The identity provider did not sign you in. Start again, or ask your administrator for access.",
        "身分提供者未讓您登入。請重新開始，或向管理者申請權限。",
    ),
    (
        "Your Kiln account is disabled. A system admin can enable it again.",
        "您的 Kiln 帳號已停用。系統管理者可重新啟用。",
    ),
    (
        "Kiln could not reach the identity provider. Try again in a moment; if it persists, tell your administrator.",
        "Kiln 無法連線到身分提供者。請稍後再試；若持續發生，請通知管理者。",
    ),
    (
        "The identity provider's answer failed Kiln's checks (its ID token was invalid, expired, or not meant for this Kiln). Nobody was signed in; tell your administrator.",
        "身分提供者的回應未通過 Kiln 的檢查（其 ID token 無效、已過期，或不是發給此 Kiln 的）。沒有任何人登入；請通知管理者。",
    ),
    (
        "The identity provider did not give a user name Kiln can use. Tell your administrator.",
        "身分提供者沒有提供 Kiln 可使用的使用者名稱。請通知管理者。",
    ),
    (
        "A Kiln account with your user name belongs to someone else at the identity provider. Nobody was signed in; ask a system admin.",
        "使用您使用者名稱的 Kiln 帳號屬於身分提供者中的另一個人。沒有任何人登入；請洽詢系統管理者。",
    ),
    (
        "Something went wrong on Kiln's side; it has been logged. Try again in a moment.",
        "Kiln 發生錯誤，已記錄下來。請稍後再試。",
    ),
    // Where an image stands, and why a launch cannot run it.
    (
        "In use: launch pages offer it.",
        "使用中：啟動頁面提供此映像檔。",
    ),
    (
        "Retired on {date}: launch pages no longer offer it. It stays in the catalog with its builds; Restore offers it again.",
        "已於 {date} 下架：啟動頁面不再提供。它與其創建紀錄仍留在目錄中；「恢復」可再次提供。",
    ),
    ("Deprecated.", "已停用。"),
    (
        "Deprecated — use {successor} instead.",
        "已停用 — 請改用 {successor}。",
    ),
    (
        "Deprecated; it leaves the launch list on {date}.",
        "已停用；將於 {date} 從啟動清單移除。",
    ),
    (
        "Deprecated — use {successor} instead; it leaves the launch list on {date}.",
        "已停用 — 請改用 {successor}；將於 {date} 從啟動清單移除。",
    ),
    (
        "Retired: launch pages no longer offer it.",
        "已下架：啟動頁面不再提供。",
    ),
    (
        "Not ready: its first build is still running.",
        "尚未就緒：第一次創建仍在進行中。",
    ),
    (
        "Not ready: it has no successful build yet.",
        "尚未就緒：尚無成功的創建。",
    ),
    (
        "A GPU image: it needs a launch with a GPU.",
        "GPU 映像檔：需要以 GPU 啟動。",
    ),
    (
        "A CPU-only image: it will not use the GPU.",
        "僅支援 CPU 的映像檔：不會使用 GPU。",
    ),
];
