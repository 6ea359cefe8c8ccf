"""A canned Kiln: answers shaped as Kiln's launchable-images contract describes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable

#: The make_spawner fixture: (username, profile_list, user_options=None) -> KubeSpawner.
MakeSpawner = Callable[..., Any]


@dataclass
class Request:
    path: str
    headers: dict[str, str]


@dataclass
class CannedKiln:
    """An HTTP server that answers every GET with one canned status and body."""

    url: str = ""
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)

    def answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.content_type = content_type


def fake_spawner(username: str) -> SimpleNamespace:
    """The part of a spawner that KilnImages.profile_list reads."""
    return SimpleNamespace(user=SimpleNamespace(name=username))


def entry(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "base",
        "display_name": "base",
        "description": "",
        "type": "cpu",
        "cpu_url": "registry.example/system/base:1",
        "gpu_url": None,
        "pull_secret": None,
        "owner": "system",
        "ready": True,
        "build_state": None,
        "url": "registry.example/system/base:1",
        "available": True,
        "reason": None,
        "warning": None,
        "deprecated": None,
    }
    base.update(fields)
    return base


# alice on a CPU launch, with include_not_ready=true.
CPU_IMAGES: list[dict[str, Any]] = [
    entry(description="Python and JupyterLab"),
    entry(
        name="cuda-tools",
        display_name="cuda-tools",
        type="gpu",
        cpu_url=None,
        gpu_url="registry.example/ml/cuda:12",
        owner={"group": "ml"},
        url=None,
        available=False,
        reason="A GPU image: it needs a launch with a GPU.",
    ),
    entry(
        name="nightly",
        display_name="nightly",
        owner={"group": "ml"},
        cpu_url=None,  # not ready: no URL until the first build succeeds
        url=None,
        ready=False,
        build_state="running",
        available=False,
        reason="Not ready: its first build is still running.",
    ),
    entry(
        name="opencv-4-9",
        display_name="opencv-4.9",
        description="<b>OpenCV</b> & friends",
        owner={"group": "cv"},
        cpu_url="registry.example/cv/opencv:4.9",
        url="registry.example/cv/opencv:4.9",
        pull_secret="cv-registry",
    ),
    entry(
        name="torch-2-1",
        display_name="torch-2.1",
        description="PyTorch 2.1",
        type="universal",
        cpu_url="registry.example/ml/torch:2.1",
        gpu_url="registry.example/ml/torch-gpu:2.1",
        owner={"group": "ml"},
        url="registry.example/ml/torch:2.1",
        pull_secret="regcred",
    ),
]

# alice on a GPU launch.
GPU_IMAGES: list[dict[str, Any]] = [
    entry(
        description="Python and JupyterLab",
        warning="A CPU-only image: it will not use the GPU.",
    ),
    entry(
        name="torch-2-1",
        display_name="torch-2.1",
        description="PyTorch 2.1",
        type="universal",
        cpu_url="registry.example/ml/torch:2.1",
        gpu_url="registry.example/ml/torch-gpu:2.1",
        owner={"group": "ml"},
        url="registry.example/ml/torch-gpu:2.1",
        pull_secret="regcred",
    ),
]


def answer(images: list[dict[str, Any]], user: str = "alice", accelerator: str = "cpu") -> dict:
    return {"user": user, "accelerator": accelerator, "images": images}
