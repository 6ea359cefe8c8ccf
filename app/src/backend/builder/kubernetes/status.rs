//! What a build's Job and Pod say about it, in Kiln's terms: waiting, running, succeeded,
//! or failed with one of Kiln's reasons. A pure function of the two objects, so each
//! reason is tested on objects as the API server writes them.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, Pod};

use super::objects::{CACHE_CONTAINER, CONTAINER, PUSH_CONTAINER};
use crate::backend::builder::BuildFailure;
use crate::backend::builds::FailReason;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Not started yet: the Job is suspended, or its Pod is scheduled or pulling.
    Waiting,
    /// The builder runs in this Pod: its log can be followed.
    Running {
        pod: String,
    },
    /// The builder exited 0 and the Job completed.
    Succeeded,
    /// The builder exited with this non-zero status: its log says why.
    Exited(i32),
    Failed(BuildFailure),
}

/// Waiting reasons of the builder's container that will not resolve by themselves.
const PULL_FAILURES: [&str; 3] = ["ImagePullBackOff", "ErrImagePull", "InvalidImageName"];

pub fn phase(job: &Job, pod: Option<&Pod>) -> Phase {
    let condition = |kind: &str| {
        job.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == kind && c.status == "True"))
    };
    if condition("Complete").is_some() {
        return Phase::Succeeded;
    }
    if let Some(failed) = condition("Failed")
        && failed.reason.as_deref() == Some("DeadlineExceeded")
    {
        let seconds = job
            .spec
            .as_ref()
            .and_then(|s| s.active_deadline_seconds)
            .unwrap_or_default();
        return Phase::Failed(BuildFailure::new(
            FailReason::Timeout,
            format!("The build took longer than {seconds} s (the Job's deadline)."),
        ));
    }
    let from_pod = pod.and_then(pod_phase);
    match (condition("Failed"), from_pod) {
        (_, Some(ended @ (Phase::Failed(_) | Phase::Exited(_)))) => ended,
        (Some(failed), _) => Phase::Failed(BuildFailure::new(
            FailReason::Build,
            format!(
                "The build's Job failed: {}",
                failed.message.as_deref().unwrap_or("no reason given")
            ),
        )),
        (None, Some(phase)) => phase,
        (None, None) => Phase::Waiting,
    }
}

/// What the Pod alone says; `None` when it says nothing yet.
fn pod_phase(pod: &Pod) -> Option<Phase> {
    let status = pod.status.as_ref()?;
    if status.reason.as_deref() == Some("Evicted") {
        return Some(Phase::Failed(BuildFailure::new(
            FailReason::Evicted,
            format!(
                "The node evicted the build: {}",
                status
                    .message
                    .as_deref()
                    .unwrap_or("it ran short of resources")
            ),
        )));
    }
    // The builder is the Pod's init container; the push step its container.
    let find = |name: &str| {
        let init = status.init_container_statuses.iter().flatten();
        let main = status.container_statuses.iter().flatten();
        init.chain(main).find(|c| c.name == name)
    };
    let running = || Phase::Running {
        pod: pod.metadata.name.clone().unwrap_or_default(),
    };
    if let Some(failure) = find(CACHE_CONTAINER).and_then(cache_failure) {
        return Some(Phase::Failed(failure));
    }
    let builder = find(CONTAINER)?;
    let image = &builder.image;
    match builder.state.as_ref()? {
        ContainerState {
            waiting: Some(waiting),
            ..
        } if PULL_FAILURES.contains(&waiting.reason.as_deref().unwrap_or_default()) => {
            Some(Phase::Failed(BuildFailure::new(
                FailReason::BuilderImage,
                format!(
                    "The builder image {image} could not be pulled ({}): {}",
                    waiting.reason.as_deref().unwrap_or_default(),
                    waiting.message.as_deref().unwrap_or("no message")
                ),
            )))
        }
        ContainerState {
            terminated: Some(done),
            ..
        } if done.reason.as_deref() == Some("OOMKilled") => Some(Phase::Failed(BuildFailure::new(
            FailReason::OutOfMemory,
            "The build ran out of memory: it needs a higher memory limit (KILN_K8S_MEMORY_LIMIT).",
        ))),
        ContainerState {
            terminated: Some(done),
            ..
        } if done.exit_code != 0 => Some(Phase::Exited(done.exit_code)),
        // Built: what the push step says.
        ContainerState {
            terminated: Some(_),
            ..
        } => Some(
            find(PUSH_CONTAINER)
                .and_then(push_phase)
                .unwrap_or_else(running),
        ),
        ContainerState {
            running: Some(_), ..
        } => Some(running()),
        _ => None,
    }
}

/// Why the layer-cache step (before the builder, which waits for it) will never let the
/// build start: its image cannot be pulled, or it keeps failing (it cannot reach or log in
/// to the build registry; its log says which).
fn cache_failure(cache: &ContainerStatus) -> Option<BuildFailure> {
    let waiting = cache.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.as_deref().unwrap_or_default();
    let message = waiting.message.as_deref().unwrap_or("no message");
    if PULL_FAILURES.contains(&reason) {
        return Some(BuildFailure::new(
            FailReason::BuilderImage,
            format!(
                "The layer cache's image {} (KILN_K8S_CACHE_IMAGE) could not be pulled ({reason}): {message}",
                cache.image
            ),
        ));
    }
    (reason == "CrashLoopBackOff").then(|| {
        BuildFailure::new(
            FailReason::Push,
            format!(
                "The layer cache step keeps failing ({reason}): it cannot reach the build registry or log in to it; see its log (container `{CACHE_CONTAINER}`)."
            ),
        )
    })
}

/// What the push step's container says once the image is built; `None` while it is on its
/// way or done (the Job controller marks the Job complete next).
fn push_phase(push: &ContainerStatus) -> Option<Phase> {
    let failed =
        |message: String| Some(Phase::Failed(BuildFailure::new(FailReason::Push, message)));
    match push.state.as_ref()? {
        ContainerState {
            waiting: Some(waiting),
            ..
        } if PULL_FAILURES.contains(&waiting.reason.as_deref().unwrap_or_default()) => {
            failed(format!(
                "The push step's image {} could not be pulled ({}).",
                push.image,
                waiting.reason.as_deref().unwrap_or_default()
            ))
        }
        ContainerState {
            terminated: Some(done),
            ..
        } if done.exit_code != 0 => failed(format!(
            "The image was built but could not be pushed (the push step exited with status {}).",
            done.exit_code
        )),
        _ => None,
    }
}

/// How a smoke-test Pod ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmokeEnd {
    /// The script exited 0.
    Passed,
    /// The script exited with this status: what it means is `smoke::failure`'s to say.
    Exited(i32),
    /// It did not run to its end: what went wrong, in words.
    Failed(String),
}

/// Waiting reasons of the smoke container that mean the image cannot be started.
const START_FAILURES: [&str; 3] = [
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// What a smoke-test Pod says; `None` while it is on its way. Its own container's words
/// only (the kubelet's and the API server's, never the image's output).
pub fn smoke_end(pod: &Pod) -> Option<SmokeEnd> {
    let status = pod.status.as_ref()?;
    // The kubelet's messages can be long (a registry's whole answer): the gist is enough.
    let short =
        |text: Option<&str>| -> String { text.unwrap_or_default().chars().take(300).collect() };
    let container = status.container_statuses.iter().flatten().next();
    match container.and_then(|c| c.state.as_ref()) {
        Some(ContainerState {
            waiting: Some(waiting),
            ..
        }) => {
            let reason = waiting.reason.as_deref().unwrap_or_default();
            let message = short(waiting.message.as_deref());
            if PULL_FAILURES.contains(&reason) {
                return Some(SmokeEnd::Failed(format!(
                    "the image could not be pulled ({reason}: {message})"
                )));
            }
            if START_FAILURES.contains(&reason) {
                return Some(SmokeEnd::Failed(format!(
                    "the image could not be started ({reason}: {message})"
                )));
            }
        }
        Some(ContainerState {
            terminated: Some(done),
            ..
        }) => {
            if done.reason.as_deref() == Some("OOMKilled") {
                return Some(SmokeEnd::Failed(
                    "it ran out of memory (KILN_K8S_MEMORY_LIMIT)".into(),
                ));
            }
            if done.exit_code != 0 {
                return Some(SmokeEnd::Exited(done.exit_code));
            }
        }
        _ => {}
    }
    match (status.phase.as_deref(), status.reason.as_deref()) {
        (Some("Succeeded"), _) => Some(SmokeEnd::Passed),
        (Some("Failed"), Some("DeadlineExceeded")) => Some(SmokeEnd::Failed(format!(
            "it did not finish within {} s (KILN_BUILD_SMOKE_TIMEOUT)",
            pod.spec
                .as_ref()
                .and_then(|spec| spec.active_deadline_seconds)
                .unwrap_or_default()
        ))),
        (Some("Failed"), reason) => Some(SmokeEnd::Failed(format!(
            "its Pod failed ({}: {})",
            reason.unwrap_or("no reason given"),
            short(status.message.as_deref())
        ))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(conditions: serde_json::Value) -> Job {
        serde_json::from_value(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "kiln-build-7"},
            "spec": {"activeDeadlineSeconds": 3600, "template": {}},
            "status": {"conditions": conditions}
        }))
        .unwrap()
    }

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "kiln-build-7-x2x4q"},
            "status": status
        }))
        .unwrap()
    }

    fn container(state: serde_json::Value) -> serde_json::Value {
        json!({"phase": "Pending", "initContainerStatuses": [{
            "name": "build", "image": "moby/buildkit:v0.23.2-rootless", "imageID": "",
            "ready": false, "restartCount": 0, "state": state
        }]})
    }

    /// The builder exited 0; the push step is in `state`.
    fn pushing(state: serde_json::Value) -> serde_json::Value {
        let mut status = container(json!({"terminated": {"exitCode": 0, "reason": "Completed"}}));
        status["phase"] = json!("Running");
        status["containerStatuses"] = json!([{
            "name": "push", "image": "quay.io/skopeo/stable:v1.20.0", "imageID": "",
            "ready": false, "restartCount": 0, "state": state
        }]);
        status
    }

    fn failed(phase: Phase) -> (FailReason, String) {
        match phase {
            Phase::Failed(f) => (f.reason, f.message),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_suspended_or_pending_build_waits_and_a_running_one_names_its_pod() {
        assert_eq!(phase(&job(json!([])), None), Phase::Waiting);
        let pending = pod(json!({"phase": "Pending"}));
        assert_eq!(phase(&job(json!([])), Some(&pending)), Phase::Waiting);
        let creating = pod(container(
            json!({"waiting": {"reason": "ContainerCreating"}}),
        ));
        assert_eq!(phase(&job(json!([])), Some(&creating)), Phase::Waiting);
        let running = pod(container(
            json!({"running": {"startedAt": "2026-11-27T12:00:00Z"}}),
        ));
        assert_eq!(
            phase(&job(json!([])), Some(&running)),
            Phase::Running {
                pod: "kiln-build-7-x2x4q".into()
            }
        );
    }

    #[test]
    fn a_complete_job_succeeded() {
        let done = job(json!([{"type": "Complete", "status": "True"}]));
        assert_eq!(phase(&done, None), Phase::Succeeded);
    }

    #[test]
    fn each_failure_of_a_job_or_pod_has_its_reason() {
        let deadline = job(
            json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                                   "message": "Job was active longer than specified deadline"}]),
        );
        let (reason, message) = failed(phase(&deadline, None));
        assert_eq!(reason, FailReason::Timeout);
        assert!(message.contains("3600 s"), "{message}");

        let pull = pod(container(json!({"waiting": {"reason": "ImagePullBackOff",
            "message": "Back-off pulling image \"moby/buildkit:v0.23.2-rootless\""}})));
        let (reason, message) = failed(phase(&job(json!([])), Some(&pull)));
        assert_eq!(reason, FailReason::BuilderImage);
        assert!(message.contains("moby/buildkit"), "{message}");

        let backoff_limit = job(
            json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                        "message": "Job has reached the specified backoff limit"}]),
        );
        let oom = pod(container(
            json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}),
        ));
        assert_eq!(
            failed(phase(&backoff_limit, Some(&oom))).0,
            FailReason::OutOfMemory
        );

        let evicted = pod(json!({"phase": "Failed", "reason": "Evicted",
            "message": "The node was low on resource: ephemeral-storage."}));
        let (reason, message) = failed(phase(&backoff_limit, Some(&evicted)));
        assert_eq!(reason, FailReason::Evicted);
        assert!(message.contains("ephemeral-storage"), "{message}");

        let exit = pod(container(
            json!({"terminated": {"exitCode": 1, "reason": "Error"}}),
        ));
        assert_eq!(phase(&backoff_limit, Some(&exit)), Phase::Exited(1));
        // The Pod already gone (TTL, eviction cleanup): the Job's word stands.
        let (reason, message) = failed(phase(&backoff_limit, None));
        assert_eq!(reason, FailReason::Build);
        assert!(message.contains("backoff limit"), "{message}");
    }

    #[test]
    fn a_layer_cache_step_that_cannot_start_fails_the_build_which_waits_for_it_otherwise() {
        let with_cache = |state: serde_json::Value| {
            let mut status = container(json!({"waiting": {"reason": "PodInitializing"}}));
            status["initContainerStatuses"]
                .as_array_mut()
                .unwrap()
                .insert(
                    0,
                    json!({
                        "name": "cache", "image": "registry.example.org/platform/kiln:0.1.0",
                        "imageID": "", "ready": false, "restartCount": 3, "state": state
                    }),
                );
            pod(status)
        };
        let pull =
            with_cache(json!({"waiting": {"reason": "ErrImagePull", "message": "not found"}}));
        let (reason, message) = failed(phase(&job(json!([])), Some(&pull)));
        assert_eq!(reason, FailReason::BuilderImage);
        assert!(
            message.contains("platform/kiln:0.1.0") && message.contains("KILN_K8S_CACHE_IMAGE"),
            "{message}"
        );
        let crashing = with_cache(json!({"waiting": {"reason": "CrashLoopBackOff"}}));
        let (reason, message) = failed(phase(&job(json!([])), Some(&crashing)));
        assert_eq!(reason, FailReason::Push);
        assert!(message.contains("build registry"), "{message}");
        // Starting: the build waits.
        let starting = with_cache(json!({"running": {"startedAt": "2026-12-01T12:00:00Z"}}));
        assert_eq!(phase(&job(json!([])), Some(&starting)), Phase::Waiting);
    }

    #[test]
    fn a_build_whose_push_step_fails_fails_with_push_and_a_running_push_is_running() {
        let job = job(json!([]));
        let running = pod(pushing(
            json!({"running": {"startedAt": "2026-11-27T12:00:00Z"}}),
        ));
        assert!(matches!(phase(&job, Some(&running)), Phase::Running { .. }));
        let (reason, message) = failed(phase(
            &job,
            Some(&pod(pushing(
                json!({"terminated": {"exitCode": 1, "reason": "Error"}}),
            ))),
        ));
        assert_eq!(reason, FailReason::Push);
        assert!(message.contains("could not be pushed"), "{message}");
        let (reason, message) = failed(phase(
            &job,
            Some(&pod(pushing(
                json!({"waiting": {"reason": "ErrImagePull"}}),
            ))),
        ));
        assert_eq!(reason, FailReason::Push);
        assert!(message.contains("quay.io/skopeo"), "{message}");
        let pushed = pod(pushing(
            json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
        ));
        assert!(matches!(phase(&job, Some(&pushed)), Phase::Running { .. }));
    }

    fn smoke(state: serde_json::Value, phase: &str) -> Pod {
        pod(json!({"phase": phase, "containerStatuses": [{
            "name": "smoke", "image": "registry.example/kiln/ml/tools@sha256:00", "imageID": "",
            "ready": false, "restartCount": 0, "state": state
        }]}))
    }

    #[test]
    fn a_smoke_pod_passes_exits_or_fails_in_words_and_waits_otherwise() {
        let running = json!({"running": {"startedAt": "2026-11-27T12:00:00Z"}});
        assert_eq!(smoke_end(&pod(json!({"phase": "Pending"}))), None);
        assert_eq!(smoke_end(&smoke(running, "Running")), None);
        let creating = json!({"waiting": {"reason": "ContainerCreating"}});
        assert_eq!(smoke_end(&smoke(creating, "Pending")), None);
        let done = json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
        assert_eq!(
            smoke_end(&smoke(done.clone(), "Running")),
            None,
            "the Pod's word"
        );
        assert_eq!(smoke_end(&smoke(done, "Succeeded")), Some(SmokeEnd::Passed));
        let exited = json!({"terminated": {"exitCode": 21, "reason": "Error"}});
        assert_eq!(
            smoke_end(&smoke(exited, "Failed")),
            Some(SmokeEnd::Exited(21))
        );
        let words = |state: serde_json::Value, phase: &str| match smoke_end(&smoke(state, phase)) {
            Some(SmokeEnd::Failed(what)) => what,
            other => panic!("{other:?}"),
        };
        let pull = json!({"waiting": {"reason": "ImagePullBackOff", "message": "unauthorized"}});
        assert_eq!(
            words(pull, "Pending"),
            "the image could not be pulled (ImagePullBackOff: unauthorized)"
        );
        let config =
            json!({"waiting": {"reason": "CreateContainerError", "message": "no /bin/sh"}});
        assert!(words(config, "Pending").starts_with("the image could not be started"));
        let oom = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}});
        assert!(words(oom, "Failed").contains("out of memory"));
        let mut deadline = smoke(json!({"running": {}}), "Failed");
        deadline.status.as_mut().unwrap().reason = Some("DeadlineExceeded".into());
        deadline.spec = Some(k8s_openapi::api::core::v1::PodSpec {
            active_deadline_seconds: Some(1200),
            ..Default::default()
        });
        assert_eq!(
            smoke_end(&deadline),
            Some(SmokeEnd::Failed(
                "it did not finish within 1200 s (KILN_BUILD_SMOKE_TIMEOUT)".into()
            ))
        );
    }

    #[test]
    fn an_exit_without_error_waits_for_the_job_to_complete() {
        let exited = pod(container(
            json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
        ));
        assert!(matches!(
            phase(&job(json!([])), Some(&exited)),
            Phase::Running { .. }
        ));
    }
}
