"""A real KubeSpawner (jupyterhub-kubespawner) loads the profiles KilnImages makes.

No cluster: see the ``make_spawner`` fixture in conftest.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Callable, TypeVar

import pytest
from canned import CPU_IMAGES, GPU_IMAGES, CannedKiln, MakeSpawner, answer

from kiln_jupyterhub import KilnError, KilnImages

T = TypeVar("T")


def run(test: Callable[[], Awaitable[T]]) -> T:
    # asyncio.run cancels the task KubeSpawner's shared Kubernetes client leaves behind.
    return asyncio.run(test())  # type: ignore[arg-type]


def test_the_spawn_form_lists_kilns_images(
    canned_kiln: CannedKiln, make_spawner: MakeSpawner
) -> None:
    canned_kiln.answer(200, answer(CPU_IMAGES))

    async def test() -> str:
        spawner = make_spawner("alice", KilnImages(canned_kiln.url, "t").profile_list)
        return await spawner.get_options_form()

    form = run(test)
    assert 'value="cpu-system--base"' in form
    assert 'value="cpu-cv--opencv-4-9"' in form
    assert 'value="cpu-ml--torch-2-1"' in form
    assert "cuda-tools" not in form and "nightly" not in form
    assert "torch-2.1 (Group ml)" in form
    assert "&lt;b&gt;OpenCV&lt;/b&gt; &amp; friends" in form and "<b>" not in form
    assert canned_kiln.requests[0].path.startswith("/api/v1/users/alice/")


def test_the_chosen_profile_sets_image_and_pull_secrets(
    canned_kiln: CannedKiln, make_spawner: MakeSpawner
) -> None:
    canned_kiln.answer(200, answer(GPU_IMAGES, accelerator="gpu"))

    async def test() -> Any:
        images = KilnImages(canned_kiln.url, "t", accelerator="gpu")
        spawner = make_spawner("alice", images.profile_list)
        # What JupyterHub does with the submitted form, then at start.
        spawner.user_options = spawner.run_options_from_form({"profile": ["gpu-ml--torch-2-1"]})
        assert spawner.user_options == {"profile": "gpu-ml--torch-2-1"}
        await spawner.load_user_options()
        return spawner

    spawner = run(test)
    assert spawner.image == "registry.example/ml/torch-gpu:2.1"
    assert spawner.image_pull_secrets == ["regcred"]


def test_the_pod_uses_the_image_and_pull_secret(
    canned_kiln: CannedKiln, make_spawner: MakeSpawner
) -> None:
    canned_kiln.answer(200, answer(CPU_IMAGES))

    async def test() -> Any:
        spawner = make_spawner(
            "alice",
            KilnImages(canned_kiln.url, "t").profile_list,
            user_options={"profile": "cpu-cv--opencv-4-9"},
        )
        await spawner.load_user_options()
        return await spawner.get_pod_manifest()

    pod = run(test)
    assert pod.spec.containers[0].image == "registry.example/cv/opencv:4.9"
    assert [s.name for s in pod.spec.image_pull_secrets] == ["cv-registry"]


def test_no_choice_gives_the_first_image_and_no_pull_secret(
    canned_kiln: CannedKiln, make_spawner: MakeSpawner
) -> None:
    canned_kiln.answer(200, answer(CPU_IMAGES))

    async def test() -> Any:
        spawner = make_spawner("alice", KilnImages(canned_kiln.url, "t").profile_list)
        await spawner.load_user_options()
        return spawner

    spawner = run(test)
    assert spawner.image == "registry.example/system/base:1"
    assert spawner.image_pull_secrets == []  # KubeSpawner's default stays


def test_an_image_no_longer_offered_is_refused(
    canned_kiln: CannedKiln, make_spawner: MakeSpawner
) -> None:
    canned_kiln.answer(200, answer(CPU_IMAGES))

    async def test() -> None:
        spawner = make_spawner(
            "alice",
            KilnImages(canned_kiln.url, "t").profile_list,
            user_options={"profile": "cpu-ml--nightly"},
        )
        await spawner.load_user_options()

    with pytest.raises(ValueError, match="No such profile: cpu-ml--nightly"):
        run(test)


def test_kilns_error_reaches_the_spawn(canned_kiln: CannedKiln, make_spawner: MakeSpawner) -> None:
    canned_kiln.answer(
        401, {"error": {"code": "bad_token", "message": "The token was revoked.", "field": None}}
    )

    async def test() -> None:
        spawner = make_spawner("alice", KilnImages(canned_kiln.url, "t").profile_list)
        await spawner.get_options_form()

    with pytest.raises(KilnError, match="HTTP 401 bad_token: The token was revoked."):
        run(test)


def test_a_cpu_and_a_gpu_list_combined(canned_kiln: CannedKiln, make_spawner: MakeSpawner) -> None:
    """Two KilnImages in one profile_list, as the README shows."""
    canned_kiln.answer(200, answer(GPU_IMAGES, accelerator="gpu"))  # same answer for both
    cpu = KilnImages(canned_kiln.url, "t", accelerator="cpu", label="CPU", require_images=False)
    gpu = KilnImages(
        canned_kiln.url,
        "t",
        accelerator="gpu",
        label="GPU",
        extra_override={"extra_resource_limits": {"nvidia.com/gpu": "1"}},
    )

    async def profile_list(spawner: Any) -> list:
        both = await asyncio.gather(cpu.profile_list(spawner), gpu.profile_list(spawner))
        return both[0] + [{**p, "default": False} for p in both[1]]

    async def test() -> Any:
        spawner = make_spawner("alice", profile_list, user_options={"profile": "gpu-ml--torch-2-1"})
        form = await spawner.get_options_form()
        assert 'value="cpu-ml--torch-2-1"' in form and 'value="gpu-ml--torch-2-1"' in form
        await spawner.load_user_options()
        return spawner

    spawner = run(test)
    assert spawner.image == "registry.example/ml/torch-gpu:2.1"
    assert spawner.extra_resource_limits == {"nvidia.com/gpu": "1"}
