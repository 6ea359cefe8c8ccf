//! `GET /api/docs`: the OpenAPI document ([`ApiDoc`], also at `/api/openapi.json`) as one
//! page of plain HTML, rendered here once per process. Nothing is loaded from anywhere
//! else, not even from Kiln: no script, no font, no image; one inline style sheet, allowed
//! by its hash in the page's `Content-Security-Policy`.
//!
//! The page reads the document as JSON, as a client would: operations grouped by tag, each
//! with its parameters, request body and responses; the schemas of `components.schemas` as
//! field lists (type, required, description). Every value from the document is escaped;
//! `` `code` `` spans in descriptions become `<code>`, nothing else of Markdown is read.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::OpenApi;

use super::openapi::ApiDoc;

/// Where the document is served as JSON.
const DOCUMENT: &str = "/api/openapi.json";

/// The page's whole style: readable measure, tables that wrap rather than overflow on a
/// 360 px screen, and the reader's light or dark preference.
const STYLE: &str = "
:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;--code:#f2f4f6;--link:#0550ae;--accent:#8250df}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#3d444d;--code:#1a2029;--link:#6cb6ff;--accent:#d2a8ff}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:62rem;padding:1rem;font:1rem/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg);overflow-wrap:anywhere}
a{color:var(--link)}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
code{background:var(--code);border-radius:4px;padding:0 .2em}
pre{overflow-x:auto;background:var(--code);padding:.5rem;overflow-wrap:normal}
h1,h2,h3,h4{line-height:1.25}
h2{margin-top:2.5rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h4{margin:1rem 0 .25rem}
nav ul{padding-left:1.25rem}
.op,.schema{border:1px solid var(--line);border-radius:6px;padding:0 1rem .5rem;margin:1rem 0}
.method{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-weight:700;color:var(--accent)}
.req{font-size:.8em;font-weight:600;color:var(--accent)}
.muted{color:var(--muted);font-weight:400}
table{border-collapse:collapse;width:100%;table-layout:fixed}
thead th:first-child{width:30%}
.fields thead th:nth-child(2){width:25%}
th,td{border:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
thead th{background:var(--code)}
.skip{position:absolute;left:-100vw}
.skip:focus{left:1rem;top:1rem;padding:.5rem;background:var(--bg)}
@media (max-width:30rem){body{padding:.5rem}.op,.schema{padding:0 .5rem .5rem}th,td{padding:.2rem .3rem}}
";

/// The page and the value of its `Content-Security-Policy`, made once.
static PAGE: LazyLock<(String, HeaderValue)> = LazyLock::new(|| {
    let policy =
        HeaderValue::from_str(&content_security_policy()).expect("the policy is printable ASCII");
    (render(&ApiDoc::openapi()), policy)
});

/// The page allows nothing but its own inline style sheet: no scripts, no requests, no
/// forms, no framing.
pub fn content_security_policy() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
}

/// `GET /api/docs`.
pub async fn page() -> Response {
    let (html, policy) = &*PAGE;
    let mut response = html.as_str().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The page of an OpenAPI document.
pub fn render(doc: &utoipa::openapi::OpenApi) -> String {
    let doc = serde_json::to_value(doc).expect("an OpenAPI document is JSON");
    Page::new(&doc).html()
}

/// `text` with the characters that mean something in HTML (in text or in a quoted
/// attribute) replaced by references.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A description as inline HTML: escaped, with `` `code` `` spans as `<code>`.
fn inline(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        // An unpaired backtick: no code spans.
        return escape(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| match i % 2 {
            0 => escape(part),
            _ => format!("<code>{}</code>", escape(part)),
        })
        .collect()
}

/// A description as paragraphs (blank lines part them).
fn prose(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>\n", inline(p)))
        .collect()
}

/// A path, escaped, that a narrow screen breaks after a slash rather than anywhere.
fn path(raw: &str) -> String {
    escape(raw).replace('/', "/<wbr>")
}

/// A fragment id from `raw`: lower-case letters, digits and dashes.
fn slug(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// Fragment ids, each given once.
#[derive(Default)]
struct Ids(HashSet<String>);

impl Ids {
    fn make(&mut self, prefix: &str, raw: &str) -> String {
        let base = format!("{prefix}-{}", slug(raw));
        let mut id = base.clone();
        let mut n = 1;
        while !self.0.insert(id.clone()) {
            n += 1;
            id = format!("{base}-{n}");
        }
        id
    }
}

/// The methods of a path item, in the order they are shown.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// One operation and where it is.
struct Operation<'a> {
    method: &'static str,
    path: &'a str,
    /// The path item's parameters, which the operation's own override.
    shared: &'a [Value],
    op: &'a Value,
    id: String,
}

/// The operations of one tag.
struct Tag<'a> {
    name: String,
    description: Option<&'a str>,
    id: String,
    operations: Vec<Operation<'a>>,
}

/// How deep nested schemas are described before "…".
const DEPTH: usize = 6;

struct Page<'a> {
    doc: &'a Value,
    tags: Vec<Tag<'a>>,
    /// `components.schemas`, and each one's fragment id.
    schemas: &'a Map<String, Value>,
    schema_ids: HashMap<&'a str, String>,
}

static NO_SCHEMAS: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

impl<'a> Page<'a> {
    fn new(doc: &'a Value) -> Page<'a> {
        let mut ids = Ids::default();
        for fixed in ["main", "contents", "schemas", "top"] {
            ids.0.insert(fixed.to_owned());
        }
        let mut tags: Vec<Tag<'a>> = Vec::new();
        for tag in doc["tags"].as_array().into_iter().flatten() {
            let Some(name) = tag["name"].as_str() else {
                continue;
            };
            if tags.iter().any(|t| t.name == name) {
                continue;
            }
            tags.push(Tag {
                name: name.to_owned(),
                description: tag["description"].as_str(),
                id: ids.make("tag", name),
                operations: Vec::new(),
            });
        }
        let mut untagged = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            let shared = item["parameters"].as_array().map_or(&[][..], Vec::as_slice);
            for method in METHODS {
                let op = &item[method];
                if !op.is_object() {
                    continue;
                }
                let operation = Operation {
                    method,
                    path,
                    shared,
                    op,
                    id: ids.make("op", &format!("{method} {path}")),
                };
                match op["tags"].get(0).and_then(Value::as_str) {
                    None => untagged.push(operation),
                    Some(name) => {
                        let index = match tags.iter().position(|t| t.name == name) {
                            Some(index) => index,
                            None => {
                                tags.push(Tag {
                                    name: name.to_owned(),
                                    description: None,
                                    id: ids.make("tag", name),
                                    operations: Vec::new(),
                                });
                                tags.len() - 1
                            }
                        };
                        tags[index].operations.push(operation);
                    }
                }
            }
        }
        if !untagged.is_empty() {
            tags.push(Tag {
                name: "Other operations".to_owned(),
                description: None,
                id: ids.make("tag", "other"),
                operations: untagged,
            });
        }
        tags.retain(|t| !t.operations.is_empty());
        let schemas = doc["components"]["schemas"]
            .as_object()
            .unwrap_or(&NO_SCHEMAS);
        let schema_ids = schemas
            .keys()
            .map(|name| (name.as_str(), ids.make("schema", name)))
            .collect();
        Page {
            doc,
            tags,
            schemas,
            schema_ids,
        }
    }

    fn html(&self) -> String {
        let info = &self.doc["info"];
        let title = info["title"].as_str().unwrap_or("API");
        let mut out = String::new();
        out.push_str(&format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title} reference</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
             <a class=\"skip\" href=\"#main\">Skip to the operations</a>\n",
            title = escape(title),
        ));
        self.header(&mut out, title);
        self.contents(&mut out);
        out.push_str("<main id=\"main\">\n");
        for tag in &self.tags {
            self.tag(&mut out, tag);
        }
        self.all_schemas(&mut out);
        out.push_str("</main>\n");
        out.push_str(&format!(
            "<footer>\n<p class=\"muted\">Rendered by Kiln from <a href=\"{DOCUMENT}\">\
             its OpenAPI document</a>.</p>\n</footer>\n</body>\n</html>\n"
        ));
        out
    }

    fn header(&self, out: &mut String, title: &str) {
        let info = &self.doc["info"];
        out.push_str(&format!("<header>\n<h1>{} reference</h1>\n", escape(title)));
        let mut facts = Vec::new();
        if let Some(version) = info["version"].as_str() {
            facts.push(format!("Version {}", escape(version)));
        }
        if let Some(openapi) = self.doc["openapi"].as_str() {
            facts.push(format!("OpenAPI {}", escape(openapi)));
        }
        if !facts.is_empty() {
            out.push_str(&format!("<p class=\"muted\">{}</p>\n", facts.join(" · ")));
        }
        if let Some(description) = info["description"].as_str() {
            out.push_str(&prose(description));
        }
        out.push_str(&format!(
            "<p>The same, for programs (generating a client, say): \
             <a href=\"{DOCUMENT}\"><code>{DOCUMENT}</code></a>.</p>\n"
        ));
        let security = self.security(&self.doc["security"]);
        if let Some(security) = security {
            out.push_str(&format!("<p>Authentication: {security}</p>\n"));
        }
        out.push_str("</header>\n");
    }

    /// What a security requirement list asks for, in words; `None` when there is none.
    fn security(&self, requirements: &Value) -> Option<String> {
        let requirements = requirements.as_array()?;
        let mut ways = Vec::new();
        let mut optional = false;
        for requirement in requirements {
            let Some(names) = requirement.as_object() else {
                continue;
            };
            if names.is_empty() {
                optional = true;
                continue;
            }
            let all: Vec<String> = names.keys().map(|name| self.scheme(name)).collect();
            ways.push(all.join(" and "));
        }
        Some(match (ways.is_empty(), optional) {
            (true, _) => "none needed.".to_owned(),
            (false, false) => format!("{}.", ways.join("; or ")),
            (false, true) => format!("optional, {}.", ways.join("; or ")),
        })
    }

    /// A security scheme, in words.
    fn scheme(&self, name: &str) -> String {
        let scheme = &self.doc["components"]["securitySchemes"][name];
        let kind = scheme["type"].as_str().unwrap_or_default();
        let how = match kind {
            "http" => match scheme["scheme"].as_str().unwrap_or_default() {
                s if s.eq_ignore_ascii_case("bearer") => {
                    "a bearer token, sent as <code>Authorization: Bearer …</code>".to_owned()
                }
                s => format!("HTTP <code>{}</code> authentication", escape(s)),
            },
            "apiKey" => format!(
                "the key in {} <code>{}</code>",
                escape(scheme["in"].as_str().unwrap_or("header")),
                escape(scheme["name"].as_str().unwrap_or_default())
            ),
            "" => format!("<code>{}</code>", escape(name)),
            other => format!("{} (<code>{}</code>)", escape(other), escape(name)),
        };
        match scheme["description"].as_str() {
            Some(description) => format!("{how} ({})", inline(description.trim_end_matches('.'))),
            None => how,
        }
    }

    fn contents(&self, out: &mut String) {
        out.push_str(
            "<nav aria-labelledby=\"contents\">\n<h2 id=\"contents\">Contents</h2>\n<ul>\n",
        );
        for tag in &self.tags {
            out.push_str(&format!(
                "<li><a href=\"#{}\">{}</a>\n<ul>\n",
                tag.id,
                escape(&tag.name)
            ));
            for op in &tag.operations {
                out.push_str(&format!(
                    "<li><a href=\"#{}\"><span class=\"method\">{}</span> <code>{}</code></a></li>\n",
                    op.id,
                    op.method.to_ascii_uppercase(),
                    path(op.path)
                ));
            }
            out.push_str("</ul>\n</li>\n");
        }
        if !self.schemas.is_empty() {
            out.push_str("<li><a href=\"#schemas\">Schemas</a></li>\n");
        }
        out.push_str("</ul>\n</nav>\n");
    }

    fn tag(&self, out: &mut String, tag: &Tag) {
        out.push_str(&format!(
            "<section aria-labelledby=\"{id}\">\n<h2 id=\"{id}\">{}</h2>\n",
            escape(&tag.name),
            id = tag.id
        ));
        if let Some(description) = tag.description {
            out.push_str(&prose(description));
        }
        for op in &tag.operations {
            self.operation(out, op);
        }
        out.push_str("</section>\n");
    }

    fn operation(&self, out: &mut String, operation: &Operation) {
        let op = operation.op;
        out.push_str(&format!(
            "<section class=\"op\" aria-labelledby=\"{id}\">\n<h3 id=\"{id}\">\
             <span class=\"method\">{}</span> <code>{}</code></h3>\n",
            operation.method.to_ascii_uppercase(),
            path(operation.path),
            id = operation.id
        ));
        if op["deprecated"] == true {
            out.push_str("<p><strong>Deprecated.</strong></p>\n");
        }
        for key in ["summary", "description"] {
            if let Some(text) = op[key].as_str() {
                out.push_str(&prose(text));
            }
        }
        if let Some(security) = self.security(&op["security"]) {
            out.push_str(&format!("<p>Authentication: {security}</p>\n"));
        }
        self.parameters(out, operation);
        self.request_body(out, &op["requestBody"]);
        self.responses(out, &op["responses"]);
        out.push_str("</section>\n");
    }

    fn parameters(&self, out: &mut String, operation: &Operation) {
        let own = operation.op["parameters"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let same = |a: &Value, b: &Value| a["name"] == b["name"] && a["in"] == b["in"];
        let parameters: Vec<&Value> = operation
            .shared
            .iter()
            .filter(|p| !own.iter().any(|o| same(o, p)))
            .chain(own)
            .map(|p| self.resolve_parameter(p))
            .collect();
        if parameters.is_empty() {
            return;
        }
        out.push_str(
            "<h4>Parameters</h4>\n<table class=\"fields\">\n<thead><tr>\
             <th scope=\"col\">Name</th><th scope=\"col\">Type</th>\
             <th scope=\"col\">Description</th></tr></thead>\n<tbody>\n",
        );
        for p in parameters {
            let required = match p["required"] == true {
                true => " <span class=\"req\">required</span>",
                false => "",
            };
            let deprecated = match p["deprecated"] == true {
                true => " (deprecated)",
                false => "",
            };
            out.push_str(&format!(
                "<tr><th scope=\"row\"><code>{}</code>{required} \
                 <span class=\"muted\">in {}</span></th><td>{}</td><td>{}{deprecated}</td></tr>\n",
                escape(p["name"].as_str().unwrap_or_default()),
                escape(p["in"].as_str().unwrap_or_default()),
                self.type_of(&p["schema"], 0),
                p["description"].as_str().map(inline).unwrap_or_default(),
            ));
        }
        out.push_str("</tbody>\n</table>\n");
    }

    /// A parameter, or the one its `$ref` names.
    fn resolve_parameter<'v>(&'v self, parameter: &'v Value) -> &'v Value {
        match parameter["$ref"].as_str() {
            Some(r) => r
                .strip_prefix("#/components/parameters/")
                .and_then(|name| self.doc["components"]["parameters"].get(name))
                .unwrap_or(parameter),
            None => parameter,
        }
    }

    fn request_body(&self, out: &mut String, body: &Value) {
        let Some(content) = body["content"].as_object() else {
            return;
        };
        out.push_str("<h4>Request body</h4>\n");
        if let Some(description) = body["description"].as_str() {
            out.push_str(&prose(description));
        }
        let required = match body["required"] == true {
            true => " <span class=\"req\">required</span>",
            false => " (optional)",
        };
        for (media, entry) in content {
            out.push_str(&format!(
                "<p><code>{}</code>{required}: {}</p>\n",
                escape(media),
                self.type_of(&entry["schema"], 0)
            ));
            if let Some(fields) = self.fields(&entry["schema"]) {
                out.push_str(&fields);
            }
        }
    }

    fn responses(&self, out: &mut String, responses: &Value) {
        let Some(responses) = responses.as_object() else {
            return;
        };
        if responses.is_empty() {
            return;
        }
        out.push_str(
            "<h4>Responses</h4>\n<table>\n<thead><tr><th scope=\"col\">Status</th>\
             <th scope=\"col\">Body</th></tr></thead>\n<tbody>\n",
        );
        for (status, response) in responses {
            let response = match response["$ref"].as_str() {
                Some(r) => r
                    .strip_prefix("#/components/responses/")
                    .and_then(|name| self.doc["components"]["responses"].get(name))
                    .unwrap_or(response),
                None => response,
            };
            let reason = status
                .parse::<u16>()
                .ok()
                .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
                .and_then(|code| code.canonical_reason())
                .map(|reason| format!(" {reason}"))
                .unwrap_or_default();
            let mut body = Vec::new();
            if let Some(description) = response["description"].as_str().filter(|d| !d.is_empty()) {
                body.push(inline(description));
            }
            for (media, entry) in response["content"].as_object().into_iter().flatten() {
                let schema = &entry["schema"];
                body.push(match schema.is_null() {
                    true => format!("<code>{}</code>", escape(media)),
                    false => format!(
                        "<code>{}</code>: {}",
                        escape(media),
                        self.type_of(schema, 0)
                    ),
                });
            }
            if response["content"].as_object().is_none_or(Map::is_empty) {
                body.push("<span class=\"muted\">No body</span>".to_owned());
            }
            out.push_str(&format!(
                "<tr><th scope=\"row\">{}{reason}</th><td>{}</td></tr>\n",
                escape(status),
                body.join("<br>\n")
            ));
        }
        out.push_str("</tbody>\n</table>\n");
    }

    fn all_schemas(&self, out: &mut String) {
        if self.schemas.is_empty() {
            return;
        }
        out.push_str(
            "<section aria-labelledby=\"schemas\">\n<h2 id=\"schemas\">Schemas</h2>\n\
             <p>The JSON the operations read and write.</p>\n",
        );
        for (name, schema) in self.schemas {
            let id = &self.schema_ids[name.as_str()];
            out.push_str(&format!(
                "<section class=\"schema\" aria-labelledby=\"{id}\">\n<h3 id=\"{id}\">{}</h3>\n",
                escape(name)
            ));
            if let Some(description) = schema["description"].as_str() {
                out.push_str(&prose(description));
            }
            match self.fields(schema) {
                Some(fields) => out.push_str(&fields),
                None => {
                    let variants = self.variants(schema);
                    match variants.is_empty() {
                        true => out
                            .push_str(&format!("<p>Type: {}</p>\n", self.type_of_bare(schema, 0))),
                        false => {
                            out.push_str("<p>One of:</p>\n<ul>\n");
                            for variant in variants {
                                out.push_str(&format!("<li>{variant}</li>\n"));
                            }
                            out.push_str("</ul>\n");
                        }
                    }
                }
            }
            out.push_str("</section>\n");
        }
        out.push_str("</section>\n");
    }

    /// The variants of a `oneOf`/`anyOf` schema, each with its description.
    fn variants(&self, schema: &Value) -> Vec<String> {
        let items = schema["oneOf"]
            .as_array()
            .or_else(|| schema["anyOf"].as_array());
        items
            .into_iter()
            .flatten()
            .map(|item| {
                let label = self.type_of_bare(item, 1);
                match item["description"].as_str() {
                    Some(d) => format!("{label}: {}", inline(d)),
                    None => label,
                }
            })
            .collect()
    }

    /// A component schema by its reference.
    fn component(&self, reference: &str) -> Option<(&'a str, &'a Value)> {
        let name = reference.strip_prefix("#/components/schemas/")?;
        self.schemas
            .get_key_value(name)
            .map(|(name, schema)| (name.as_str(), schema))
    }

    /// An object schema's fields as a table (following a `$ref`); `None` for other schemas.
    fn fields(&self, schema: &Value) -> Option<String> {
        let mut schema = schema;
        for _ in 0..DEPTH {
            match schema["$ref"].as_str() {
                Some(r) => schema = self.component(r)?.1,
                None => break,
            }
        }
        let properties = schema["properties"].as_object()?;
        let required: HashSet<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut out = String::from(
            "<table class=\"fields\">\n<thead><tr><th scope=\"col\">Field</th><th scope=\"col\">Type</th>\
             <th scope=\"col\">Description</th></tr></thead>\n<tbody>\n",
        );
        for (name, property) in properties {
            let marker = match required.contains(name.as_str()) {
                true => " <span class=\"req\">required</span>",
                false => "",
            };
            out.push_str(&format!(
                "<tr><th scope=\"row\"><code>{}</code>{marker}</th><td>{}</td><td>{}</td></tr>\n",
                escape(name),
                self.type_of(property, 1),
                describe(property).map(inline).unwrap_or_default(),
            ));
        }
        out.push_str("</tbody>\n</table>\n");
        match &schema["additionalProperties"] {
            Value::Bool(false) => out.push_str("<p>Other fields are refused.</p>\n"),
            extra if extra.is_object() => out.push_str(&format!(
                "<p>Other fields: {}.</p>\n",
                self.type_of(extra, 1)
            )),
            _ => {}
        }
        Some(out)
    }

    /// A schema's type in words, as inline HTML; "—" when there is none.
    fn type_of(&self, schema: &Value, depth: usize) -> String {
        match schema.is_null() {
            true => "<span class=\"muted\">—</span>".to_owned(),
            false => self.type_of_bare(schema, depth),
        }
    }

    fn type_of_bare(&self, schema: &Value, depth: usize) -> String {
        if depth > DEPTH {
            return "…".to_owned();
        }
        if let Some(reference) = schema["$ref"].as_str() {
            return match self.component(reference) {
                Some((name, _)) => format!(
                    "<a href=\"#{}\">{}</a>",
                    self.schema_ids[name],
                    escape(name)
                ),
                None => format!("<code>{}</code>", escape(reference)),
            };
        }
        for (key, joint) in [("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")] {
            if let Some(items) = schema[key].as_array() {
                let (nulls, others): (Vec<&Value>, Vec<&Value>) =
                    items.iter().partition(|item| item["type"] == "null");
                let mut labels: Vec<String> = others
                    .iter()
                    .map(|item| self.type_of_bare(item, depth + 1))
                    .collect();
                if !nulls.is_empty() {
                    labels.push("null".to_owned());
                }
                return labels.join(joint);
            }
        }
        if let Some(value) = schema.get("const") {
            return format!("<code>{}</code>", escape(&literal(value)));
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ if schema["properties"].is_object() => vec!["object"],
            _ => vec![],
        };
        let nullable = types.contains(&"null");
        let mut labels: Vec<String> = types
            .iter()
            .filter(|t| **t != "null")
            .map(|t| self.one_type(schema, t, depth))
            .collect();
        if labels.is_empty() {
            labels.push(match nullable {
                true => "null".to_owned(),
                false => "any".to_owned(),
            });
        } else if nullable {
            labels.push("null".to_owned());
        }
        labels.join(" or ")
    }

    /// One JSON type of a schema, with its format, values and bounds.
    fn one_type(&self, schema: &Value, kind: &str, depth: usize) -> String {
        if let Some([only]) = schema["enum"].as_array().map(Vec::as_slice) {
            return format!("<code>{}</code>", escape(&literal(only)));
        }
        let mut label = match kind {
            "array" => match &schema["items"] {
                Value::Null | Value::Bool(_) => "array".to_owned(),
                items => format!("array of {}", self.type_of_bare(items, depth + 1)),
            },
            "object" => self.object(schema, depth),
            other => escape(other),
        };
        if let Some(format) = schema["format"].as_str() {
            label.push_str(&format!(" ({})", escape(format)));
        }
        let mut notes = Vec::new();
        if let Some(values) = schema["enum"].as_array() {
            let values: Vec<String> = values
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| format!("<code>{}</code>", escape(&literal(v))))
                .collect();
            notes.push(format!("one of {}", values.join(", ")));
        }
        for (key, words) in [
            ("minimum", "at least"),
            ("maximum", "at most"),
            ("exclusiveMinimum", "more than"),
            ("exclusiveMaximum", "less than"),
            ("minLength", "characters: at least"),
            ("maxLength", "characters: at most"),
            ("minItems", "items: at least"),
            ("maxItems", "items: at most"),
        ] {
            if let Some(n) = schema[key].as_number() {
                notes.push(format!("{words} {}", escape(&n.to_string())));
            }
        }
        if let Some(pattern) = schema["pattern"].as_str() {
            notes.push(format!("matching <code>{}</code>", escape(pattern)));
        }
        if !notes.is_empty() {
            label.push_str(&format!(", {}", notes.join(", ")));
        }
        label
    }

    /// An object type: its fields in one line, or what its values are for a map.
    fn object(&self, schema: &Value, depth: usize) -> String {
        if let Some(properties) = schema["properties"].as_object().filter(|p| !p.is_empty()) {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let fields: Vec<String> = properties
                .iter()
                .map(|(name, property)| {
                    let marker = match required.contains(&name.as_str()) {
                        true => ", required",
                        false => "",
                    };
                    format!(
                        "<code>{}</code> ({}{marker})",
                        escape(name),
                        self.type_of_bare(property, depth + 1)
                    )
                })
                .collect();
            return format!("object with {}", fields.join(", "));
        }
        match &schema["additionalProperties"] {
            values if values.is_object() => {
                let keys = match schema["propertyNames"].is_object() {
                    true => self.type_of_bare(&schema["propertyNames"], depth + 1),
                    false => "string".to_owned(),
                };
                format!("map of {keys} to {}", self.type_of_bare(values, depth + 1))
            }
            _ => "object".to_owned(),
        }
    }
}

/// A schema's description, or that of its first described variant (`Option<T>` fields put
/// it beside the `$ref`, in a `oneOf` with `null`).
fn describe(schema: &Value) -> Option<&str> {
    schema["description"].as_str().or_else(|| {
        ["oneOf", "anyOf", "allOf"]
            .iter()
            .filter_map(|key| schema[*key].as_array())
            .flatten()
            .find_map(|item| item["description"].as_str())
    })
}

/// A JSON value as a reader writes it: strings bare, the rest as JSON.
fn literal(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    use super::*;
    use crate::router::testing::{request, router, send};

    #[tokio::test]
    async fn the_page_is_html_under_a_strict_policy() {
        let app = router().await;
        let (parts, body) = send(&app, request(Method::GET, "/api/docs", None)).await;
        assert_eq!(parts.status, StatusCode::OK);
        assert_eq!(parts.headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(parts.headers["x-content-type-options"], "nosniff");
        let policy = parts.headers["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");

        // The policy's hash is the page's one style sheet's.
        let page = String::from_utf8(body.to_vec()).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        let style = page
            .split_once("<style>")
            .and_then(|(_, rest)| rest.split_once("</style>"))
            .map(|(style, _)| style)
            .unwrap();
        assert_eq!(page.matches("<style").count(), 1);
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
        assert!(
            policy.contains(&format!("style-src 'sha256-{hash}'")),
            "{policy}"
        );
        assert!(style.contains("prefers-color-scheme:dark"));

        // One h1; landmarks; a link to the JSON.
        assert_eq!(page.matches("<h1").count(), 1);
        for landmark in ["<header>", "<nav ", "<main ", "<footer>"] {
            assert_eq!(page.matches(landmark).count(), 1, "{landmark}");
        }
        assert!(page.contains("<a href=\"/api/openapi.json\">"));
    }

    #[tokio::test]
    async fn the_page_names_every_path_and_the_fields_of_a_schema() {
        let app = router().await;
        let (_, body) = send(&app, request(Method::GET, "/api/docs", None)).await;
        let page = String::from_utf8(body.to_vec()).unwrap();

        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() > 20);
        for (path, item) in paths {
            for method in METHODS {
                if item[method].is_object() {
                    let heading = format!(
                        "<span class=\"method\">{}</span> <code>{}</code></h3>",
                        method.to_ascii_uppercase(),
                        super::path(path)
                    );
                    assert!(page.contains(&heading), "{method} {path} is on the page");
                }
            }
        }

        // Every field of NewImage is listed in its section, the required ones marked.
        let section = page
            .split_once("<h3 id=\"schema-newimage\">NewImage</h3>")
            .and_then(|(_, rest)| rest.split_once("</section>"))
            .map(|(section, _)| section)
            .expect("a NewImage section");
        let schema = &doc["components"]["schemas"]["NewImage"];
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let fields = schema["properties"].as_object().unwrap();
        assert!(fields.contains_key("display_name") && fields.contains_key("build"));
        for field in fields.keys() {
            let cell = format!("<th scope=\"row\"><code>{field}</code>");
            let marked = format!("{cell} <span class=\"req\">required</span></th>");
            assert!(section.contains(&cell), "{field} is listed");
            assert_eq!(
                section.contains(&marked),
                required.contains(&field.as_str()),
                "{field} is marked required when it is"
            );
        }
        assert!(section.contains("<a href=\"#schema-buildspec\">BuildSpec</a> or null"));
        assert!(section.contains("Other fields are refused."));
    }

    /// A document with markup everywhere a value goes.
    fn hostile() -> utoipa::openapi::OpenApi {
        let evil = "<script>alert('x')</script> & \"quoted\"";
        serde_json::from_value(json!({
            "openapi": "3.1.0",
            "info": {"title": "T<i>", "version": "1", "description": evil},
            "tags": [{"name": "<b>tag</b>", "description": evil}],
            "paths": {
                "/things/{id}<img onerror=alert(1)>": {
                    "post": {
                        "tags": ["<b>tag</b>"],
                        "summary": evil,
                        "description": "Send `<b>code</b>` here",
                        "parameters": [{
                            "name": "id\"><script>", "in": "path", "required": true,
                            "description": evil, "schema": {"type": "string", "pattern": "<x>"}
                        }],
                        "requestBody": {"content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Thing<script>"}
                        }}, "required": true},
                        "responses": {"200": {"description": evil, "content": {
                            "application/json": {"schema": {"type": "string", "enum": ["<script>"]}}
                        }}}
                    }
                }
            },
            "components": {"schemas": {"Thing<script>": {
                "type": "object",
                "description": evil,
                "required": ["<script>"],
                "properties": {"<script>": {"type": "string", "description": evil}}
            }}}
        }))
        .unwrap()
    }

    #[test]
    fn every_value_of_the_document_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(inline("a `<b>` c"), "a <code>&lt;b&gt;</code> c");
        assert_eq!(inline("an ` unpaired <b>"), "an ` unpaired &lt;b&gt;");

        let page = render(&hostile());
        let style_end = page.find("</style>").unwrap();
        let body = &page[style_end..];
        for tag in ["<script", "<img", "<b>", "<i>"] {
            assert!(!body.contains(tag), "{tag} in {body}");
        }
        assert!(
            body.contains(
                "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"
            )
        );
        assert!(body.contains("<code>/<wbr>things/<wbr>{id}&lt;img onerror=alert(1)&gt;</code>"));
        assert!(body.contains("<code>id&quot;&gt;&lt;script&gt;</code>"));
        assert!(body.contains("Send <code>&lt;b&gt;code&lt;/b&gt;</code> here"));
        // The schema is still found through its odd name, and its fields listed.
        assert!(body.contains("<a href=\"#schema-thing-script\">Thing&lt;script&gt;</a>"));
        assert!(body.contains(
            "<th scope=\"row\"><code>&lt;script&gt;</code> <span class=\"req\">required</span></th>"
        ));
    }

    #[test]
    fn nothing_is_loaded_from_anywhere() {
        for page in [render(&ApiDoc::openapi()), render(&hostile())] {
            let lower = page.to_ascii_lowercase();
            for loader in [
                "<script", "<link", "<img", "<iframe", "<object", "<embed", "<video", "<audio",
                "<source", "<base", "<form", " src=", "srcset=", "url(", "@import",
            ] {
                assert!(!lower.contains(loader), "{loader}");
            }
            // No attribute names another host, and every link stays on the page or goes
            // to Kiln's own JSON.
            for (i, _) in lower.match_indices("=\"") {
                let value = &lower[i + 2..];
                let value = &value[..value.find('"').unwrap()];
                assert!(
                    !value.contains("://") && !value.starts_with("//"),
                    "{value}"
                );
                if lower[..i].ends_with(" href") {
                    assert!(
                        value.starts_with('#') || value == "/api/openapi.json",
                        "{value}"
                    );
                }
            }
        }
    }
}
