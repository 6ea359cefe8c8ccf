//! The "Use existing image" form and its rules, checked as the admin types and again on
//! the server, by this one function.

use serde::{Deserialize, Serialize};

use super::{DisplayName, FieldError, ImageName, ImageRef, ImageType, messages};

/// What the form sends, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageForm {
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    pub image_type: String,
    pub url: String,
    /// Universal images only: a separate image for GPU launches.
    #[serde(default)]
    pub use_gpu_url: bool,
    #[serde(default)]
    pub gpu_url: String,
    #[serde(default)]
    pub use_pull_secret: bool,
    /// The name of a registry credential this group may use.
    #[serde(default)]
    pub pull_secret: String,
}

/// A form that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidImage {
    pub display_name: DisplayName,
    pub name: ImageName,
    pub description: String,
    pub image_type: ImageType,
    pub url: ImageRef,
    /// Equals `url` unless a universal image names its own GPU image.
    pub gpu_url: ImageRef,
    pub pull_secret: Option<String>,
}

pub const MAX_DESCRIPTION: usize = 2000;

impl ImageForm {
    /// Every broken rule, each naming its field; or the valid image.
    pub fn validate(&self) -> Result<ValidImage, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let display_name = keep(e, DisplayName::parse("display_name", &self.display_name));
        let description = keep(e, check_description(&self.description));
        let image_type = keep(e, ImageType::parse("type", &self.image_type));
        let url = keep(e, ImageRef::parse("url", &self.url));
        // Only a universal image names a separate GPU image; asking for one on another
        // type is refused rather than dropped (an API client would not notice otherwise).
        let gpu_url = match (self.use_gpu_url, image_type) {
            (true, Some(ImageType::Universal)) => {
                keep(e, ImageRef::parse("gpu_url", &self.gpu_url))
            }
            (true, Some(_)) => {
                e.push(FieldError::coded(
                    "gpu_url",
                    messages::GPU_URL_NOT_UNIVERSAL,
                    &[],
                ));
                None
            }
            _ => url.clone(),
        };
        let pull_secret = keep(
            e,
            pull_secret_choice(self.use_pull_secret, &self.pull_secret),
        );
        match (
            display_name,
            description,
            image_type,
            url,
            gpu_url,
            pull_secret,
        ) {
            (
                Some(display_name),
                Some(description),
                Some(image_type),
                Some(url),
                Some(gpu_url),
                Some(pull_secret),
            ) if errors.is_empty() => Ok(ValidImage {
                name: display_name.image_name(),
                display_name,
                description,
                image_type,
                url,
                gpu_url,
                pull_secret,
            }),
            _ => Err(errors),
        }
    }
}

/// The pull secret the form names: none when the box is unticked, else one must be chosen.
pub(crate) fn pull_secret_choice(use_it: bool, name: &str) -> Result<Option<String>, FieldError> {
    match (use_it, name.trim()) {
        (false, _) => Ok(None),
        (true, "") => Err(FieldError::coded(
            "pull_secret",
            messages::PULL_SECRET_CHOOSE,
            &[],
        )),
        (true, name) => Ok(Some(name.to_owned())),
    }
}

/// The value, or `None` with its error collected.
pub(crate) fn keep<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

pub(crate) fn check_description(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.chars().count() > MAX_DESCRIPTION {
        return Err(FieldError::coded(
            "description",
            messages::TOO_LONG,
            &[("max", "2000")],
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::coded(
            "description",
            messages::CONTROL_CHARACTERS,
            &[],
        ));
    }
    Ok(s.replace("\r\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ImageForm {
        ImageForm {
            display_name: "tf-2.3".into(),
            description: "TensorFlow".into(),
            image_type: "universal".into(),
            url: "tensorflow/tensorflow:2.3.0".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_universal_image_uses_its_url_for_gpu_unless_told_otherwise() {
        let v = form().validate().unwrap();
        assert_eq!(
            (v.name.as_str(), v.gpu_url.as_str()),
            ("tf-2-3", "tensorflow/tensorflow:2.3.0")
        );
        let v = ImageForm {
            use_gpu_url: true,
            gpu_url: "tensorflow/tensorflow:2.3.0-gpu".into(),
            ..form()
        }
        .validate()
        .unwrap();
        assert_eq!(v.gpu_url.as_str(), "tensorflow/tensorflow:2.3.0-gpu");
        // Only universal images may name a separate GPU image: on another type it is
        // refused, naming the field.
        let errors = ImageForm {
            image_type: "cpu".into(),
            use_gpu_url: true,
            gpu_url: "x:y".into(),
            ..form()
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "gpu_url");
        assert!(errors[0].message.contains("only universal images"));
    }

    #[test]
    fn every_broken_rule_is_reported_with_its_field() {
        let bad = ImageForm {
            display_name: "TF".into(),
            description: "a\u{7}b".into(),
            image_type: "both".into(),
            url: "not a url".into(),
            use_pull_secret: true,
            ..Default::default()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["display_name", "description", "type", "url", "pull_secret"]
        );
        assert_eq!(
            errors
                .iter()
                .find(|e| e.field == "type")
                .map(|e| e.message.as_str()),
            Some("must be cpu, gpu or universal")
        );

        let errors = ImageForm {
            use_gpu_url: true,
            gpu_url: "".into(),
            ..form()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            errors,
            vec![FieldError::coded(
                "gpu_url",
                crate::domain::messages::REQUIRED,
                &[]
            )]
        );
    }
}
