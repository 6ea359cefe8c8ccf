//! The zh-TW catalog: each English text of the UI and its Traditional Chinese. The terms
//! are the manual's (`group-image-cht.md`): 映像檔, 群組, 顯示名稱, 描述, 類型; the labels
//! the manual quotes in English stay in English (`New Image`, `Search Image`,
//! `Display name`, `Use existing image`, `Build custom image`, `Create`, …).

/// English text → zh-TW text.
pub static ENTRIES: &[(&str, &str)] = &[
    // The top bar.
    ("Account", "帳號"),
    ("Main", "主選單"),
    ("Launch", "啟動"),
    ("Images", "映像檔"),
    ("Group: ", "群組："),
    ("choose…", "請選擇…"),
    ("Global images", "全域映像檔"),
    ("Users", "使用者"),
    ("Groups", "群組"),
    ("Registry credentials", "Registry 憑證"),
    ("Service tokens", "服務權杖"),
    ("Audit log", "稽核紀錄"),
    ("Your tokens", "我的權杖"),
    ("Change password", "變更密碼"),
    ("system admin", "系統管理者"),
    ("Sign out", "登出"),
    ("Language", "語言"),
    // Signing in.
    ("Sign in", "登入"),
    ("Sign in to Kiln", "登入 Kiln"),
    ("User name", "使用者名稱"),
    ("Password", "密碼"),
    (
        "Your password was changed. Sign in with the new one.",
        "您的密碼已變更，請以新密碼登入。",
    ),
    (
        "This Kiln signs you in with your organisation's account.",
        "此 Kiln 以您組織的帳號登入。",
    ),
    ("Sign in with your organisation's account", "以組織帳號登入"),
    (
        "Your organisation's sign-in service signs you in before you reach Kiln. Open Kiln from your platform's address to be signed in.",
        "您組織的登入服務會在進入 Kiln 之前完成登入。請從平台的網址開啟 Kiln 以登入。",
    ),
    // The Images list (the manual keeps its column names, Search Image and New Image).
    ("Loading images…", "正在載入映像檔…"),
    ("Loading…", "載入中…"),
    ("No images in this group yet.", "此群組尚無映像檔。"),
    ("No global images yet.", "尚無全域映像檔。"),
    (
        "No images match “{search}”.",
        "沒有符合「{search}」的映像檔。",
    ),
    ("Members of {group}", "{group} 群組的成員"),
    ("Audit log of {group}", "{group} 群組的稽核紀錄"),
    ("Search Image", "Search Image"),
    ("Search", "搜尋"),
    ("New Image", "New Image"),
    ("Name", "Name"),
    ("Display Name", "Display Name"),
    ("Description", "Description"),
    ("Type", "Type"),
    ("Size", "大小"),
    ("Actions", "操作"),
    ("Edit image {name}", "編輯映像檔 {name}"),
    ("Delete image {name}", "刪除映像檔 {name}"),
    (
        "Deprecate, retire or restore image {name}",
        "停用、下架或恢復映像檔 {name}",
    ),
    (
        "▲ Image building in progress",
        "▲ Image building in progress",
    ),
    ("✕ Build failed · not ready", "✕ 建置失敗 · 尚未就緒"),
    ("✕ Build failed", "✕ 建置失敗"),
    ("◼ Build cancelled · not ready", "◼ 建置已撤消 · 尚未就緒"),
    ("◼ Build cancelled", "◼ 建置已撤消"),
    ("Not ready", "尚未就緒"),
    ("View build details", "View build details"),
    ("Pages", "分頁"),
    (
        "{first}–{last} of {total}",
        "第 {first}–{last} 筆，共 {total} 筆",
    ),
    ("Page {page} of {pages}", "第 {page} 頁，共 {pages} 頁"),
    ("← Previous", "← 上一頁"),
    ("Next →", "下一頁 →"),
    ("Group {group}", "{group} 群組"),
    // New Image, Edit, Delete.
    ("How to add the image", "加入映像檔的方式"),
    ("Use existing image", "Use existing image"),
    ("Build custom image", "Build custom image"),
    ("Create", "Create"),
    ("Cancel", "取消"),
    ("Save", "儲存"),
    (
        "Builds are not set up on this Kiln.",
        "此 Kiln 尚未設定映像檔創建。",
    ),
    (
        "Register an existing image with “Use existing image” instead.",
        "請改以「Use existing image」加入已存在的映像檔。",
    ),
    ("Display name", "Display name"),
    (
        "Lowercase letters, digits, '.' and '-'; up to 63 characters.",
        "必填，只能填寫小寫字母、數字、點（“.”）、連接號（“-”），最多 63 個字元。",
    ),
    (
        "Lowercase letters, digits, '.' and '-'; up to 63 characters. The image name is made from it ('.' becomes '-').",
        "必填，只能填寫小寫字母、數字、點（“.”）、連接號（“-”），最多 63 個字元。Image name 依據它自動產生（“.” 換成 “-”）。",
    ),
    ("Image name", "Image name"),
    ("Fixed once the image exists.", "映像檔建立後即固定。"),
    (
        "Made from the display name.",
        "依據 Display name 自動產生。",
    ),
    ("Container image url", "Container image url"),
    (
        "e.g. nvcr.io/nvidia/pytorch:24.01-py3",
        "例：nvcr.io/nvidia/pytorch:24.01-py3",
    ),
    ("Image Pull Secret", "Image Pull Secret"),
    (
        "The registry needs a pull secret",
        "此 registry 需要指定 pull-secret",
    ),
    ("Pull secret", "Pull secret"),
    ("Choose…", "請選擇…"),
    (
        "Specific container image url for GPU",
        "Specific container image url for GPU",
    ),
    (
        "Use a different image on GPU (universal images only; otherwise the GPU url is the container image url)",
        "為 GPU 指定不同的 image（僅限 Type 為 universal；未勾選時，預設為跟 Container image url 一樣）",
    ),
    ("Container image url for GPU", "Container image url for GPU"),
    ("This field", "此欄位"),
    ("Base image", "Base image"),
    (
        "Any image reference, or one of this group's ready images (↓ to choose). Kiln resolves it to its digest before the build is queued.",
        "必填，可輸入任何有效的 Image URL，或從此群組已就緒的映像檔中選擇（按 ↓ 選擇）。排入創建前，Kiln 會將它解析為其 digest。",
    ),
    (
        "The base image's registry needs a pull secret",
        "Base image 的 registry 需要指定 pull-secret",
    ),
    ("Packages", "Packages"),
    (
        "One package per line; at least one in all. Each line is checked as you type.",
        "一行輸入一個套件，總共至少一個；輸入時即逐行檢查。",
    ),
    ("Edit image", "編輯映像檔"),
    ("Edit {name}", "編輯 {name}"),
    ("Confirm deletion", "確認刪除"),
    ("Delete {name}", "刪除 {name}"),
    ("Delete image {name}?", "刪除映像檔 {name}？"),
    (
        "{scope} will no longer offer {name} ({url}) to launch. This cannot be undone.",
        "{scope}將不再提供 {name}（{url}）啟動。此動作無法復原。",
    ),
    // The rules' refusals (`domain::messages`), after the field's label.
    ("is required", "為必填"),
    ("must be at most {max} characters", "最多 {max} 個字元"),
    ("may not contain control characters", "不可包含控制字元"),
    (
        "may contain only lowercase letters, digits, '.' and '-', not {found}",
        "只能填寫小寫字母、數字、點（“.”）、連接號（“-”），不可用 {found}",
    ),
    (
        "may contain only lowercase letters, digits, '.' and '-', not '{found}' (use lowercase)",
        "只能填寫小寫字母、數字、點（“.”）、連接號（“-”），不可用「{found}」（請改用小寫）",
    ),
    (
        "must start and end with a letter or digit",
        "開頭與結尾須為字母或數字",
    ),
    ("must start with a letter or digit", "開頭須為字母或數字"),
    (
        "may contain only lowercase letters, digits, '-', '_' and '.'",
        "只能填寫小寫字母、數字、“-”、“_” 與 “.”",
    ),
    (
        "is reserved: the global images are pushed under that name",
        "為保留名稱：全域映像檔推送於此名稱之下",
    ),
    (
        "may contain only letters, digits, '.', '_', '-', '@' and '+'",
        "只能填寫字母、數字、“.”、“_”、“-”、“@” 與 “+”",
    ),
    ("is not an image name", "不是映像檔名稱"),
    (
        "must be cpu, gpu or universal",
        "須為 cpu、gpu 或 universal",
    ),
    (
        "choose a pull secret, or untick the box",
        "請選擇 pull secret，或取消勾選",
    ),
    (
        "only universal images name a separate GPU image; leave it out, or choose universal",
        "只有 universal 映像檔可指定不同的 GPU image；請移除它，或將 Type 改為 universal",
    ),
    ("{why}", "不是有效的映像檔位址：{why}"),
    (
        "give at least one package, in APT, Conda or Pip",
        "請至少於 APT、Conda 或 Pip 輸入一個套件",
    ),
    ("{box}: at most {max} bytes", "{box}：最多 {max} 位元組"),
    (
        "{box} line {line}: \u{201c}{text}\u{201d} {why}",
        "{box} 第 {line} 行：「{text}」{why}",
    ),
    // Refusals that are not about one field.
    (
        "You are not a member of group {group}.",
        "您不是 {group} 群組的成員。",
    ),
    (
        "Only the group admins of group {group} can manage its images. You are a member; ask one of its admins.",
        "只有 {group} 群組的管理者能管理其映像檔。您是成員；請洽該群組的管理者。",
    ),
    (
        "Only system admins can do this.",
        "只有系統管理者能執行此操作。",
    ),
    (
        "This token has the read scope; it cannot change anything.",
        "此權杖為 read 範圍，無法變更任何內容。",
    ),
    (
        "This token acts for no user; it may only read launchable images.",
        "此權杖未綁定使用者，只能讀取可啟動的映像檔。",
    ),
    (
        "The account {user} is disabled: its sessions and tokens no longer work. A system admin can enable it again.",
        "帳號 {user} 已停用：其登入階段與權杖已失效。系統管理者可重新啟用。",
    ),
    ("There is no group {name}.", "沒有 {name} 群組。"),
    (
        "This was changed by someone else since you opened it. Nothing was overwritten; reload to see the current version.",
        "自您開啟後，已有其他人變更此內容。沒有任何內容被覆寫；請重新載入以查看目前版本。",
    ),
    // Status pages.
    ("Not allowed", "沒有權限"),
    ("Not found", "找不到"),
    ("Something went wrong", "發生錯誤"),
    ("There is no page at this address.", "此網址沒有頁面。"),
    ("Go to your start page", "回到起始頁"),
];

/// The zh-TW text for `en`, if the catalog has it.
pub fn get(en: &str) -> Option<&'static str> {
    all().find(|(key, _)| *key == en).map(|(_, zh)| *zh)
}

/// Every entry: the walk's pages and the rules' refusals here, the other pages' in
/// [`super::zh_tw_pages`], the other refusals in [`super::zh_tw_messages`].
pub fn all() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    ENTRIES
        .iter()
        .chain(super::zh_tw_pages::ENTRIES)
        .chain(super::zh_tw_messages::ENTRIES)
}
