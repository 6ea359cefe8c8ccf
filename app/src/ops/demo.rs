//! The demo seed behind `make run`: a group with an admin and a member, and a second
//! group the admin can switch to. Passwords are generated and shown once. Made by the
//! operator (`kiln demo`), through the same operations as `kiln user add` and the rest.
//!
//! With the samples (`kiln demo --samples`, what `make run` calls), the group `demo` also
//! gets a few registered notebook images and, when builds are on and a base image is
//! given, one custom image whose first build is queued at once. Each is made only when the
//! group has no image of its name, so seeding again adds nothing.

use super::{Call, OpResult, accounts, builds, images};
use crate::backend::images::Scope;
use crate::backend::{groups, passwords, users};
use crate::domain::{BuildForm, ImageForm, Role};

pub const ADMIN: &str = "demo-admin";
pub const MEMBER: &str = "demo-member";
pub const GROUPS: [&str; 2] = ["demo", "sandbox"];
/// The group the samples go to.
pub const SAMPLE_GROUP: &str = "demo";
/// The custom image of the samples: a small Debian base plus one APT package.
pub const CUSTOM: &str = "debian-hello";
const CUSTOM_APT: &str = "hello";

/// A registered sample: display name, type, description, URL, GPU URL (universal only).
struct Registered {
    display_name: &'static str,
    image_type: &'static str,
    description: &'static str,
    url: &'static str,
    gpu_url: Option<&'static str>,
}

/// Jupyter's own images, pinned to one of their dated tags. Kiln stores a registered
/// image's URL without pulling it, so nothing is downloaded for them.
const REGISTERED: [Registered; 4] = [
    Registered {
        display_name: "scipy-notebook",
        image_type: "cpu",
        description: "Jupyter's SciPy stack: NumPy, pandas, Matplotlib, scikit-learn.",
        url: "quay.io/jupyter/scipy-notebook:2024-03-31",
        gpu_url: None,
    },
    Registered {
        display_name: "r-notebook",
        image_type: "cpu",
        description: "R with the tidyverse and the IRkernel, beside Python.",
        url: "quay.io/jupyter/r-notebook:2024-03-31",
        gpu_url: None,
    },
    Registered {
        display_name: "pytorch-cuda12",
        image_type: "gpu",
        description: "PyTorch built for CUDA 12: GPU launches only.",
        url: "quay.io/jupyter/pytorch-notebook:cuda12-2024-03-31",
        gpu_url: None,
    },
    Registered {
        display_name: "tensorflow-notebook",
        image_type: "universal",
        description: "TensorFlow 2.16; GPU launches get its CUDA build.",
        url: "quay.io/jupyter/tensorflow-notebook:2024-03-31",
        gpu_url: Some("quay.io/jupyter/tensorflow-notebook:cuda-2024-03-31"),
    },
];

/// The accounts created by this call, with their passwords; empty when the demo exists.
pub async fn seed(call: &Call) -> OpResult<Vec<(String, String)>> {
    let db = &call.state.db;
    if users::find(db, ADMIN).await?.is_some() {
        return Ok(Vec::new());
    }
    for group in GROUPS {
        if groups::find(db, group).await?.is_none() {
            accounts::add_group(call, group).await?;
        }
    }
    let mut created = Vec::new();
    for (user, memberships) in [
        (
            ADMIN,
            &[("demo", Role::Admin), ("sandbox", Role::Admin)][..],
        ),
        (MEMBER, &[("demo", Role::Member)][..]),
    ] {
        let password = passwords::generate();
        accounts::add_user(call, user, &password, false).await?;
        for (group, role) in memberships {
            accounts::add_member(call, group, user, *role).await?;
        }
        created.push((user.to_owned(), password));
    }
    Ok(created)
}

/// What [`seed_samples`] did.
#[derive(Debug, PartialEq, Eq)]
pub struct Samples {
    /// The names of the registered images this call made (none when they exist).
    pub registered: Vec<String>,
    pub custom: Custom,
}

/// What became of the custom sample.
#[derive(Debug, PartialEq, Eq)]
pub enum Custom {
    /// Made now; its first build is `build` (already done when the registry held the
    /// image: then `reused`).
    Queued { build: i64, reused: bool },
    /// The group has an image of that name already.
    Exists,
    /// Builds are off here, for this reason.
    BuildsOff(String),
    /// Builds are on, but no base image was given.
    NoBase,
    /// Refused, saying why (a base image that does not resolve, say); nothing was made.
    Refused(String),
}

/// Registers the sample images in the group `demo` (made if missing) and, when builds are
/// on and `base_image` is given, makes the custom sample from it, queuing its build. The
/// custom sample's refusal (a base image that does not resolve, say) is an answer, not an
/// error: the registered images are stored all the same.
pub async fn seed_samples(call: &Call, base_image: Option<&str>) -> OpResult<Samples> {
    let db = &call.state.db;
    let group = match groups::find(db, SAMPLE_GROUP).await? {
        Some(g) => g.id,
        None => accounts::add_group(call, SAMPLE_GROUP).await?,
    };
    let scope = Scope::Group(group);
    let mut registered = Vec::new();
    for sample in &REGISTERED {
        let form = ImageForm {
            display_name: sample.display_name.into(),
            description: sample.description.into(),
            image_type: sample.image_type.into(),
            url: sample.url.into(),
            use_gpu_url: sample.gpu_url.is_some(),
            gpu_url: sample.gpu_url.unwrap_or_default().into(),
            ..Default::default()
        };
        let name = form.validate().map_err(super::first)?.name;
        if crate::backend::images::find(db, scope, name.as_str())
            .await?
            .is_none()
        {
            images::create(call, Some(SAMPLE_GROUP), form).await?;
            registered.push(name.to_string());
        }
    }
    let custom = custom_sample(call, scope, base_image).await?;
    Ok(Samples { registered, custom })
}

async fn custom_sample(call: &Call, scope: Scope, base_image: Option<&str>) -> OpResult<Custom> {
    let state = &call.state;
    if crate::backend::images::find(&state.db, scope, CUSTOM)
        .await?
        .is_some()
    {
        return Ok(Custom::Exists);
    }
    if !state.builds.enabled() {
        return Ok(Custom::BuildsOff(state.builds.disabled_reason.clone()));
    }
    let Some(base) = base_image.map(str::trim).filter(|b| !b.is_empty()) else {
        return Ok(Custom::NoBase);
    };
    let form = BuildForm {
        display_name: CUSTOM.into(),
        description: format!(
            "Built by Kiln: the demo's small Debian base plus the APT package {CUSTOM_APT}."
        ),
        image_type: "cpu".into(),
        base_image: base.into(),
        apt: CUSTOM_APT.into(),
        ..Default::default()
    };
    Ok(
        match builds::create_custom(call, Some(SAMPLE_GROUP), form).await {
            Ok((_, build)) => Custom::Queued {
                build: build.id,
                reused: !build.state().is_active(),
            },
            Err(e) => Custom::Refused(e.to_string()),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ListQuery;
    use crate::ops::testing::operator;

    #[tokio::test]
    async fn seeding_twice_creates_the_accounts_once() {
        let call = operator().await;
        let db = &call.state.db;
        let first = seed(&call).await.unwrap();
        assert_eq!(
            first.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(),
            [ADMIN, MEMBER]
        );
        assert!(seed(&call).await.unwrap().is_empty());
        let admin = users::find(db, ADMIN).await.unwrap().unwrap();
        let roles = groups::memberships_of(db, admin.id).await.unwrap();
        assert!(roles.iter().all(|m| m.role == Role::Admin) && roles.len() == 2);
    }

    #[tokio::test]
    async fn the_samples_are_registered_once_and_with_builds_off_no_custom_image_is_made() {
        let call = operator().await;
        seed(&call).await.unwrap();
        let first = seed_samples(&call, Some("127.0.0.1:5000/base/debian:bookworm"))
            .await
            .unwrap();
        assert_eq!(
            first.registered,
            [
                "scipy-notebook",
                "r-notebook",
                "pytorch-cuda12",
                "tensorflow-notebook"
            ]
        );
        assert_eq!(
            first.custom,
            Custom::BuildsOff("No builder in these tests.".into())
        );
        let again = seed_samples(&call, None).await.unwrap();
        assert!(again.registered.is_empty(), "{again:?}");
        let list = images::list(&call, Some(SAMPLE_GROUP), &ListQuery::default())
            .await
            .unwrap();
        assert_eq!(list.total, 4);
        let tf = images::get(
            &call,
            Some(SAMPLE_GROUP),
            "tensorflow-notebook",
            crate::domain::Action::ViewGroupImages,
        )
        .await
        .unwrap();
        assert_eq!(
            (tf.row.image_type.as_str(), tf.row.gpu_url.as_str()),
            (
                "universal",
                "quay.io/jupyter/tensorflow-notebook:cuda-2024-03-31"
            )
        );
    }

    #[tokio::test]
    async fn an_image_of_a_samples_name_is_left_as_it_is() {
        let call = operator().await;
        let form = ImageForm {
            display_name: "r-notebook".into(),
            image_type: "cpu".into(),
            url: "registry.example/mine/r:1".into(),
            ..Default::default()
        };
        accounts::add_group(&call, SAMPLE_GROUP).await.unwrap();
        images::create(&call, Some(SAMPLE_GROUP), form)
            .await
            .unwrap();
        let samples = seed_samples(&call, None).await.unwrap();
        assert!(!samples.registered.contains(&"r-notebook".to_owned()));
        assert_eq!(samples.registered.len(), 3);
        let mine = images::get(
            &call,
            Some(SAMPLE_GROUP),
            "r-notebook",
            crate::domain::Action::ViewGroupImages,
        )
        .await
        .unwrap();
        assert_eq!(mine.row.url, "registry.example/mine/r:1");
    }
}
