use super::*;

#[test]
fn tags_this_ui_speaks_are_parsed_and_simplified_chinese_is_not_taken_for_zh_tw() {
    assert_eq!(Lang::parse("en-GB"), Some(Lang::En));
    assert_eq!(Lang::parse("zh-TW"), Some(Lang::ZhTw));
    assert_eq!(Lang::parse("zh-hant-tw"), Some(Lang::ZhTw));
    assert_eq!(Lang::parse("zh_HK"), Some(Lang::ZhTw));
    assert_eq!(Lang::parse("zh"), Some(Lang::ZhTw));
    assert_eq!(Lang::parse("zh-CN"), None);
    assert_eq!(Lang::parse("zh-Hans"), None);
    assert_eq!(Lang::parse("fr"), None);
    assert_eq!(Lang::parse(""), None);
}

#[test]
fn accept_language_is_read_by_its_q_values() {
    assert_eq!(Lang::negotiate("zh-TW,zh;q=0.9,en-US;q=0.8"), Lang::ZhTw);
    assert_eq!(Lang::negotiate("en-US,en;q=0.9,zh-TW;q=0.8"), Lang::En);
    assert_eq!(Lang::negotiate("fr-FR, zh-TW;q=0.5, en;q=0.4"), Lang::ZhTw);
    assert_eq!(Lang::negotiate("en;q=0.2, zh-Hant;q=0.7"), Lang::ZhTw);
    assert_eq!(Lang::negotiate("zh-CN, fr"), Lang::En);
    assert_eq!(Lang::negotiate("zh-TW;q=0, en;q=0.1"), Lang::En);
    assert_eq!(Lang::negotiate("garbage;;q=x,,"), Lang::En);
}

#[test]
fn the_remembered_choice_wins_over_the_browser() {
    assert_eq!(Lang::choose(Some("en"), Some("zh-TW")), Lang::En);
    assert_eq!(Lang::choose(Some("zh-TW"), Some("en")), Lang::ZhTw);
    assert_eq!(Lang::choose(Some("klingon"), Some("zh-TW")), Lang::ZhTw);
    assert_eq!(Lang::choose(None, None), Lang::En);
}

#[test]
fn texts_are_filled_in_either_language() {
    assert_eq!(t(Lang::En, "New Image"), "New Image");
    assert_eq!(t(Lang::ZhTw, "Images"), "映像檔");
    assert_eq!(
        tf(Lang::ZhTw, "Members of {group}", &[("group", "ml")]),
        "ml 群組的成員"
    );
    assert_eq!(
        tf(Lang::En, "Members of {group}", &[("group", "ml")]),
        "Members of ml"
    );
}

/// Every text the sources pass to `t` or `tf`, read from the files as written.
fn texts_in_sources() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for path in rust_files(root) {
        if path.ends_with("tests.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let file = path.display().to_string();
        for text in literals_after(&source, &["t(", "tf("])
            .into_iter()
            .chain(message_wordings(&source))
        {
            found.push((file.clone(), text));
        }
    }
    found
}

/// The `.rs` files under `dir`, at any depth.
fn rust_files(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The string literal after each call `name(ident, "…"` in `source`.
fn literals_after(source: &str, calls: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for call in calls {
        let mut rest = source;
        while let Some(at) = rest.find(call) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + call.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let Some((lang, after)) = rest.split_once(',') else {
                continue;
            };
            if !lang.trim().chars().all(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let after = after.trim_start();
            let Some(body) = after.strip_prefix('"') else {
                continue;
            };
            let mut text = String::new();
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => text.push('\n'),
                        Some('u') => {
                            let code: String =
                                chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                            text.extend(
                                u32::from_str_radix(&code, 16).ok().and_then(char::from_u32),
                            );
                        }
                        Some(other) => text.push(other),
                        None => {}
                    },
                    c => text.push(c),
                }
            }
            found.push(text);
        }
    }
    found
}

/// The English wording of each `Message::new("code", "wording")` in `source`.
fn message_wordings(source: &str) -> Vec<String> {
    source
        .split("Message::new(")
        .skip(1)
        .filter_map(|rest| {
            let rest = rest.trim_start().strip_prefix('"')?;
            let (_code, rest) = rest.split_once('"')?;
            let rest = rest.trim_start().strip_prefix(',')?.trim_start();
            // Reuse the call scanner on a call of our own making.
            literals_after(&format!("t(l, {rest}"), &["t("])
                .into_iter()
                .next()
        })
        .collect()
}

#[test]
fn every_coded_message_is_found_by_the_scan_and_by_its_code() {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain/messages.rs"),
    )
    .unwrap();
    let wordings = message_wordings(&source);
    let all = crate::domain::messages::ALL;
    assert_eq!(wordings.len(), all.len(), "every message is listed in ALL");
    for message in all {
        assert!(wordings.iter().any(|w| w == message.en), "{}", message.code);
        assert_eq!(
            crate::domain::messages::by_code(message.code),
            Some(*message)
        );
    }
}

#[test]
fn a_coded_refusal_is_shown_in_the_users_language_and_an_uncoded_one_as_worded() {
    let error = crate::domain::DisplayName::parse("display_name", "Bad").unwrap_err();
    assert_eq!(error.code, "display_name.uppercase");
    assert_eq!(
        field_message(Lang::En, &error),
        "may contain only lowercase letters, digits, '.' and '-', not 'B' (use lowercase)"
    );
    assert_eq!(field_message(Lang::En, &error), error.message);
    assert_eq!(
        field_message(Lang::ZhTw, &error),
        "只能填寫小寫字母、數字、點（“.”）、連接號（“-”），不可用「B」（請改用小寫）"
    );
    let plain = crate::domain::FieldError::setting("x", "something else");
    assert_eq!(field_message(Lang::ZhTw, &plain), "something else");
}

fn placeholders(text: &str) -> Vec<&str> {
    let mut names: Vec<&str> = text
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
        .collect();
    names.sort_unstable();
    names
}

#[test]
fn the_zh_tw_catalog_has_every_text_of_the_ui_with_the_same_placeholders() {
    let used = texts_in_sources();
    assert!(
        used.len() > 50,
        "the scan found the UI's texts: {}",
        used.len()
    );
    let missing: Vec<String> = used
        .iter()
        .filter(|(_, text)| zh_tw::get(text).is_none())
        .map(|(file, text)| format!("{file}: {text:?}"))
        .collect();
    assert!(
        missing.is_empty(),
        "no zh-TW text for:\n{}",
        missing.join("\n")
    );
    for (en, zh) in zh_tw::all() {
        assert_eq!(placeholders(en), placeholders(zh), "placeholders of {en:?}");
        assert!(
            used.iter().any(|(_, text)| text == en),
            "{en:?} is in the catalog but no page uses it"
        );
    }
    let mut keys: Vec<&str> = zh_tw::all().map(|(en, _)| *en).collect();
    keys.sort_unstable();
    let before = keys.len();
    keys.dedup();
    assert_eq!(before, keys.len(), "a text is in the catalog twice");
}

#[test]
fn the_scan_reads_calls_escapes_and_skips_other_functions() {
    let source = r#"t(lang, "A \"quoted\" text") + tf(l, "Hi {name}", &[]) + format(x, "no") + self.t(l, "no")"#;
    assert_eq!(
        literals_after(source, &["t(", "tf("]),
        vec!["A \"quoted\" text".to_owned(), "Hi {name}".to_owned()]
    );
}

/// Every refusal a user can meet is coded: an uncoded `Said` cannot be made from words
/// (no `From<String>`), and the two ways left to word one without a code — the operator's
/// settings and a literal `Said { .. }` — appear only where they belong.
#[test]
fn no_refusal_is_worded_without_a_code() {
    let allowed: &[(&str, &[&str])] = &[
        (
            "FieldError::setting(",
            &["backend/secret.rs", "backend/db.rs", "domain/field.rs"],
        ),
        ("Said {", &["domain/field.rs", "wire/error.rs"]),
    ];
    let mut found = Vec::new();
    for root in ["src", "../server/src"] {
        for path in rust_files(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(root)) {
            let name = path.to_string_lossy().replace('\\', "/");
            if name.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (pattern, files) in allowed {
                // A type named in a signature (`-> Said {`) is no literal.
                let used = code
                    .match_indices(pattern)
                    .any(|(at, _)| !code[..at].ends_with("-> "));
                if used && !files.iter().any(|f| name.ends_with(f)) {
                    found.push(format!("{name}: {pattern}"));
                }
            }
        }
    }
    assert!(found.is_empty(), "uncoded refusals:\n{}", found.join("\n"));
}
