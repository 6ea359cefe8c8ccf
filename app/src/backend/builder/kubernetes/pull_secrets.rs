//! Pull secrets where notebooks start. For each registry credential Kiln keeps a
//! `kubernetes.io/dockerconfigjson` Secret of the same name in every namespace the operator
//! lists (`KILN_K8S_PULL_SECRET_NAMESPACES`), so the `image_pull_secrets` a launch page
//! passes on exist. The leader brings them in line after every credential change and every
//! minute: a missing one is created, a changed or tampered one replaced, one whose
//! credential is gone deleted. A Secret Kiln did not make (without its label) is never
//! touched, even when it has a credential's name.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};

/// The label on every pull secret Kiln keeps; the key `sync` lists by.
pub const LABEL: &str = "kiln.dev/pull-secret";
const DATA_KEY: &str = ".dockerconfigjson";
const TYPE: &str = "kubernetes.io/dockerconfigjson";

/// One credential as a pull secret: its name and the `.dockerconfigjson` it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub name: String,
    pub config: Vec<u8>,
}

impl Wanted {
    pub fn new(name: &str, registry: &str, username: &str, password: &str) -> Wanted {
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        let config = serde_json::json!({
            "auths": { registry: { "username": username, "password": password, "auth": auth } }
        });
        Wanted {
            name: name.to_owned(),
            config: serde_json::to_vec(&config).expect("JSON of strings"),
        }
    }

    /// The Secret for `namespace` (with the version read, when replacing one).
    pub fn secret(&self, namespace: &str, resource_version: Option<String>) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(namespace.to_owned()),
                labels: Some(BTreeMap::from([
                    ("app.kubernetes.io/managed-by".to_owned(), "kiln".to_owned()),
                    (LABEL.to_owned(), "true".to_owned()),
                ])),
                resource_version,
                ..ObjectMeta::default()
            },
            type_: Some(TYPE.to_owned()),
            data: Some(BTreeMap::from([(
                DATA_KEY.to_owned(),
                ByteString(self.config.clone()),
            )])),
            ..Secret::default()
        }
    }

    /// Whether a stored Secret holds exactly this.
    fn matches(&self, stored: &Secret) -> bool {
        let data = stored.data.as_ref().and_then(|d| d.get(DATA_KEY));
        stored.type_.as_deref() == Some(TYPE)
            && data.is_some_and(|d| d.0 == self.config)
            && stored.data.as_ref().is_some_and(|d| d.len() == 1)
    }
}

/// What one pass changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    pub created: Vec<String>,
    pub replaced: Vec<String>,
    pub deleted: Vec<String>,
    /// A Secret of that name exists and is not Kiln's: left alone.
    pub foreign: Vec<String>,
}

/// Brings the pull secrets of `namespaces` in line with `wanted` (entries read
/// `namespace/name`). A namespace that fails stops the pass with its error; the next pass
/// tries again.
pub async fn sync(
    client: &kube::Client,
    namespaces: &[String],
    wanted: &[Wanted],
) -> Result<Changes, kube::Error> {
    let mut changes = Changes::default();
    for namespace in namespaces {
        let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let ours = api
            .list(&ListParams::default().labels(&format!("{LABEL}=true")))
            .await?
            .items;
        let named = |name: &str| format!("{namespace}/{name}");
        for want in wanted {
            let stored = ours
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(want.name.as_str()));
            match stored {
                Some(stored) if want.matches(stored) => {}
                Some(stored) => {
                    let version = stored.metadata.resource_version.clone();
                    api.replace(
                        &want.name,
                        &PostParams::default(),
                        &want.secret(namespace, version),
                    )
                    .await?;
                    changes.replaced.push(named(&want.name));
                }
                None => match api
                    .create(&PostParams::default(), &want.secret(namespace, None))
                    .await
                {
                    Ok(_) => changes.created.push(named(&want.name)),
                    Err(kube::Error::Api(e)) if e.code == 409 => {
                        changes.foreign.push(named(&want.name));
                    }
                    Err(e) => return Err(e),
                },
            }
        }
        for stored in &ours {
            let name = stored.metadata.name.clone().unwrap_or_default();
            if !wanted.iter().any(|w| w.name == name) {
                api.delete(&name, &DeleteParams::default()).await?;
                changes.deleted.push(named(&name));
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod mock_api_server_tests {
    //! Against a MOCK API server (no cluster here): an in-process service that keeps
    //! Secrets per namespace as the API server would, for the requests `sync` makes.

    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http::{Method, Request, Response, StatusCode};
    use http_body_util::Full;
    use kube::client::Body;
    use serde_json::{Value, json};

    use super::*;

    type Store = Arc<Mutex<BTreeMap<(String, String), Value>>>;

    fn respond(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())))
            .unwrap()
    }

    async fn answer(store: Store, request: Request<Body>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.unwrap();
        let path: Vec<&str> = parts
            .uri
            .path()
            .trim_start_matches('/')
            .split('/')
            .collect();
        // api/v1/namespaces/{ns}/secrets[/{name}]
        let (namespace, name) = (path[3].to_owned(), path.get(5).map(|s| (*s).to_owned()));
        let mut store = store.lock().unwrap();
        let conflict = |what: &str| {
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": what,
                   "reason": "AlreadyExists", "code": 409})
        };
        match (&parts.method, name) {
            (&Method::GET, None) => {
                let selector = parts.uri.query().unwrap_or_default().to_owned();
                assert!(
                    selector.contains("labelSelector=kiln.dev%2Fpull-secret%3Dtrue"),
                    "{selector}"
                );
                let items: Vec<Value> = store
                    .iter()
                    .filter(|((ns, _), s)| {
                        *ns == namespace && s["metadata"]["labels"][LABEL] == "true"
                    })
                    .map(|(_, s)| s.clone())
                    .collect();
                respond(
                    StatusCode::OK,
                    &json!({"kind": "SecretList", "apiVersion": "v1",
                                               "metadata": {}, "items": items}),
                )
            }
            (&Method::POST, None) => {
                let mut secret: Value = serde_json::from_slice(&bytes).unwrap();
                let name = secret["metadata"]["name"].as_str().unwrap().to_owned();
                if store.contains_key(&(namespace.clone(), name.clone())) {
                    return respond(StatusCode::CONFLICT, &conflict("exists"));
                }
                secret["metadata"]["resourceVersion"] = json!("1");
                store.insert((namespace, name), secret.clone());
                respond(StatusCode::CREATED, &secret)
            }
            (&Method::PUT, Some(name)) => {
                let mut secret: Value = serde_json::from_slice(&bytes).unwrap();
                let key = (namespace, name);
                let current = store[&key]["metadata"]["resourceVersion"].clone();
                assert_eq!(
                    secret["metadata"]["resourceVersion"], current,
                    "replaced what was read"
                );
                let next = current.as_str().unwrap().parse::<u64>().unwrap() + 1;
                secret["metadata"]["resourceVersion"] = json!(next.to_string());
                store.insert(key, secret.clone());
                respond(StatusCode::OK, &secret)
            }
            (&Method::DELETE, Some(name)) => {
                let gone = store.remove(&(namespace, name)).unwrap();
                respond(StatusCode::OK, &gone)
            }
            (method, name) => panic!("unexpected {method} {name:?}"),
        }
    }

    fn mock_client() -> (kube::Client, Store) {
        let store = Store::default();
        let served = store.clone();
        let (service, mut handle) =
            tower_test::mock::pair::<Request<Body>, Response<Full<Bytes>>>();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                send.send_response(answer(served.clone(), request).await);
            }
        });
        (kube::Client::new(service, "kiln"), store)
    }

    fn data(store: &Store, namespace: &str, name: &str) -> Option<Value> {
        let store = store.lock().unwrap();
        let secret = store.get(&(namespace.to_owned(), name.to_owned()))?;
        let encoded = secret["data"][DATA_KEY].as_str().unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        Some(serde_json::from_slice(&raw).unwrap())
    }

    #[tokio::test]
    async fn mock_api_server_pull_secrets_are_created_updated_repaired_and_deleted() {
        let (client, store) = mock_client();
        let namespaces = vec!["hub".to_owned(), "team-a".to_owned()];
        // Someone else's Secret named like a credential: never touched.
        store.lock().unwrap().insert(
            ("team-a".into(), "quay".into()),
            json!({"metadata": {"name": "quay", "resourceVersion": "7"}, "type": "Opaque"}),
        );
        let harbor = Wanted::new("harbor", "harbor.example", "robot", "first");
        let quay = Wanted::new("quay", "quay.io", "bot", "pw");

        let first = sync(&client, &namespaces, &[harbor.clone(), quay.clone()])
            .await
            .unwrap();
        assert_eq!(first.created, ["hub/harbor", "hub/quay", "team-a/harbor"]);
        assert_eq!(first.foreign, ["team-a/quay"]);
        let config = data(&store, "team-a", "harbor").unwrap();
        assert_eq!(config["auths"]["harbor.example"]["username"], "robot");
        assert_eq!(
            config["auths"]["harbor.example"]["auth"],
            "cm9ib3Q6Zmlyc3Q="
        ); // robot:first
        assert!(store.lock().unwrap()[&("team-a".into(), "quay".into())]["data"].is_null());

        // Nothing changed: nothing is written.
        let again = sync(&client, &namespaces, &[harbor.clone(), quay.clone()])
            .await
            .unwrap();
        assert_eq!(
            again,
            Changes {
                foreign: vec!["team-a/quay".into()],
                ..Changes::default()
            }
        );

        // A new password: replaced everywhere.
        let rotated = Wanted::new("harbor", "harbor.example", "robot", "second");
        let changed = sync(&client, &namespaces, &[rotated.clone(), quay.clone()])
            .await
            .unwrap();
        assert_eq!(changed.replaced, ["hub/harbor", "team-a/harbor"]);
        assert_eq!(
            data(&store, "hub", "harbor").unwrap()["auths"]["harbor.example"]["password"],
            "second"
        );

        // Someone edits Kiln's Secret: the next pass puts it back.
        store
            .lock()
            .unwrap()
            .get_mut(&("hub".into(), "harbor".into()))
            .unwrap()["data"][DATA_KEY] =
            json!(base64::engine::general_purpose::STANDARD.encode(b"{\"auths\":{}}"));
        let repaired = sync(&client, &namespaces, &[rotated.clone(), quay.clone()])
            .await
            .unwrap();
        assert_eq!(repaired.replaced, ["hub/harbor"]);
        assert_eq!(
            data(&store, "hub", "harbor").unwrap()["auths"]["harbor.example"]["password"],
            "second"
        );

        // The credential is deleted: its Secrets go; the foreign one stays.
        let gone = sync(&client, &namespaces, &[quay]).await.unwrap();
        assert_eq!(gone.deleted, ["hub/harbor", "team-a/harbor"]);
        assert!(data(&store, "hub", "harbor").is_none());
        assert!(
            store
                .lock()
                .unwrap()
                .contains_key(&("team-a".into(), "quay".into()))
        );
    }
}
