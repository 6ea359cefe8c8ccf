"""KilnImages against a real Kiln: started from ``KILN_BIN`` on a fresh SQLite database.

Run with ``KILN_BIN=target/release/kiln ./integrations/jupyterhub/run-tests.sh``. Kiln
runs with the repository root (three levels above the binary) as its working directory,
so it finds ``target/site``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from canned import MakeSpawner, fake_spawner

from kiln_jupyterhub import KilnError, KilnImages, profile_slug

KILN_BIN = os.environ.get("KILN_BIN")

if not KILN_BIN:
    pytest.skip(
        "KILN_BIN is not set: point it at a kiln binary (target/release/kiln) "
        "to run these tests against a running Kiln",
        allow_module_level=True,
    )

# Images made in the fixture, by display name: (owner group or None for global, body).
IMAGES: dict[str, tuple[str | None, dict[str, Any]]] = {
    "base-notebook": (None, {"type": "cpu", "url": "registry.example/system/base:1"}),
    "torch-2.1": (
        "ml",
        {
            "type": "universal",
            "url": "registry.example/ml/torch:2.1",
            "gpu_url": "registry.example/ml/torch-gpu:2.1",
            # Stored with `kiln credential add` in the fixture, granted to ml.
            "pull_secret": "ml-registry",
        },
    ),
    "cuda-tools": ("ml", {"type": "gpu", "url": "registry.example/ml/cuda-tools:12"}),
    "opencv": ("cv", {"type": "cpu", "url": "registry.example/cv/opencv:4"}),
    "secret-sauce": ("other", {"type": "cpu", "url": "registry.example/other/sauce:1"}),
}


@dataclass
class RunningKiln:
    url: str
    read_token: str
    admin_token: str
    env: dict[str, str]
    root: Path
    binary: Path
    #: The image name Kiln derived, by display name.
    names: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Runs ``kiln ARGS`` on this Kiln's database; its stdout."""
        done = subprocess.run(
            [str(self.binary), *args],
            cwd=self.root,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"kiln {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return done.stdout

    def token(self, *args: str) -> str:
        """``kiln token create ARGS``: the token, the one line on stdout."""
        lines = self.cli("token", "create", *args).strip().splitlines()
        assert len(lines) == 1, f"kiln token create printed {lines!r}"
        return lines[0].strip()

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A REST call with the write token of root (a system admin)."""
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.admin_token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        return status, (json.loads(raw) if raw else None)

    def slug(self, display_name: str, accelerator: str) -> str:
        group = IMAGES[display_name][0]
        owner: Any = {"group": group} if group else "system"
        return profile_slug({"owner": owner, "name": self.names[display_name]}, accelerator)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, server: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"kiln serve exited {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"kiln serve was not ready in {seconds}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def kiln(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKiln]:
    binary = Path(str(KILN_BIN)).resolve()
    root = binary.parents[2]  # <root>/target/release/kiln
    tmp = tmp_path_factory.mktemp("kiln")
    port = free_port()
    env = {
        **os.environ,
        "KILN_DATABASE_URL": f"sqlite://{tmp}/kiln.db",
        "KILN_DATA_DIR": str(tmp),
        "KILN_LISTEN": f"127.0.0.1:{port}",
        "KILN_BUILDER": "none",
        "LEPTOS_SITE_ROOT": "target/site",
        "LEPTOS_ENV": "PROD",
    }
    kiln = RunningKiln(f"http://127.0.0.1:{port}", "", "", env, root, binary)
    for group in ("ml", "cv", "other"):
        kiln.cli("group", "add", group)
    kiln.cli("user", "add", "alice", "--password-stdin", stdin="alice-password\n")
    kiln.cli("user", "add", "root", "--system-admin", "--password-stdin", stdin="root-password\n")
    # A name that needs percent-encoding in the URL path.
    kiln.cli("user", "add", "carol+ml@example.org", "--password-stdin", stdin="carol-password\n")
    kiln.cli("member", "add", "ml", "alice")
    kiln.cli("member", "add", "cv", "alice")
    kiln.cli("member", "add", "ml", "carol+ml@example.org")
    kiln.read_token = kiln.token("--name", "jupyterhub", "--scope", "read")
    kiln.admin_token = kiln.token("--name", "admin-script", "--scope", "write", "--user", "root")
    kiln.cli(
        "credential", "add", "ml-registry", "--registry", "registry.example",
        "--username", "puller", "--group", "ml", stdin="registry-password\n",
    )

    log = tmp / "kiln.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(binary), "serve"], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(kiln.url, server, log)
        for display_name, (owner, body) in IMAGES.items():
            path = f"/api/v1/groups/{owner}/images" if owner else "/api/v1/images"
            full = {"display_name": display_name, "description": f"{display_name} image", **body}
            status, image = kiln.api("POST", path, full)
            assert status == 201, f"POST {path} {full}: {status} {image}"
            kiln.names[display_name] = image["name"]
        yield kiln
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def profiles(kiln: RunningKiln, accelerator: str, user: str = "alice") -> list[dict]:
    images = KilnImages(kiln.url, kiln.read_token, accelerator=accelerator)
    return asyncio.run(images.profile_list(fake_spawner(user)))


def by_display_name(profiles: list[dict]) -> dict[str, dict]:
    return {p["display_name"]: p for p in profiles}


def test_cpu_profiles_are_alices_groups_and_the_global_images(kiln: RunningKiln) -> None:
    got = profiles(kiln, "cpu")
    # Kiln's order is by display name; cuda-tools is GPU only, secret-sauce not hers.
    assert [p["display_name"] for p in got] == [
        "base-notebook (System)",
        "opencv (Group cv)",
        "torch-2.1 (Group ml)",
    ]
    assert [p["slug"] for p in got] == [
        kiln.slug("base-notebook", "cpu"),
        kiln.slug("opencv", "cpu"),
        kiln.slug("torch-2.1", "cpu"),
    ]
    assert [p.get("default", False) for p in got] == [True, False, False]
    images = {p["display_name"]: p["kubespawner_override"] for p in got}
    # No pull secret: no image_pull_secrets, so KubeSpawner's own setting stays.
    assert images == {
        "base-notebook (System)": {"image": "registry.example/system/base:1"},
        "opencv (Group cv)": {"image": "registry.example/cv/opencv:4"},
        "torch-2.1 (Group ml)": {
            "image": "registry.example/ml/torch:2.1",
            "image_pull_secrets": ["ml-registry"],
        },
    }
    assert by_display_name(got)["opencv (Group cv)"]["description"] == "opencv image"


def test_gpu_profiles_add_the_gpu_image_and_resolve_universal_to_its_gpu_url(
    kiln: RunningKiln,
) -> None:
    got = by_display_name(profiles(kiln, "gpu"))
    assert set(got) == {
        "base-notebook (System)",
        "cuda-tools (Group ml)",
        "opencv (Group cv)",
        "torch-2.1 (Group ml)",
    }
    assert got["cuda-tools (Group ml)"]["kubespawner_override"] == {
        "image": "registry.example/ml/cuda-tools:12"
    }
    assert got["torch-2.1 (Group ml)"]["kubespawner_override"] == {
        "image": "registry.example/ml/torch-gpu:2.1",
        "image_pull_secrets": ["ml-registry"],
    }
    assert got["torch-2.1 (Group ml)"]["slug"] == kiln.slug("torch-2.1", "gpu")
    # A CPU-only image on a GPU launch is offered with Kiln's warning.
    assert "Warning: " in got["opencv (Group cv)"]["description"]
    assert "Warning: " not in got["torch-2.1 (Group ml)"]["description"]


def test_the_raw_answer_keeps_what_is_left_out_with_a_reason(kiln: RunningKiln) -> None:
    images = KilnImages(kiln.url, kiln.read_token, accelerator="cpu")
    entries = {e["display_name"]: e for e in asyncio.run(images.fetch("alice"))}
    assert "secret-sauce" not in entries
    cuda = entries["cuda-tools"]
    assert (cuda["available"], cuda["url"], cuda["cpu_url"]) == (False, None, None)
    assert cuda["reason"]
    assert entries["torch-2.1"]["owner"] == {"group": "ml"}
    assert entries["base-notebook"]["owner"] == "system"
    assert {n: e["pull_secret"] for n, e in entries.items()} == {
        "base-notebook": None,
        "cuda-tools": None,
        "opencv": None,
        "torch-2.1": "ml-registry",
    }


def test_a_user_name_that_needs_encoding(kiln: RunningKiln) -> None:
    got = profiles(kiln, "cpu", user="carol+ml@example.org")
    assert [p["display_name"] for p in got] == ["base-notebook (System)", "torch-2.1 (Group ml)"]


def test_an_unknown_user_is_a_clear_404(kiln: RunningKiln) -> None:
    with pytest.raises(KilnError, match="'nobody' from Kiln: HTTP 404") as caught:
        profiles(kiln, "cpu", user="nobody")
    assert caught.value.code


def test_a_deleted_image_is_no_longer_offered(kiln: RunningKiln) -> None:
    status, body = kiln.api(
        "POST",
        "/api/v1/groups/cv/images",
        {
            "display_name": "short-lived",
            "description": "",
            "type": "cpu",
            "url": "registry.example/cv/short:1",
            "pull_secret": None,
        },
    )
    assert status == 201, body
    assert "short-lived (Group cv)" in by_display_name(profiles(kiln, "cpu"))
    status, body = kiln.api("DELETE", f"/api/v1/groups/cv/images/{body['name']}")
    assert status == 204, body
    assert "short-lived (Group cv)" not in by_display_name(profiles(kiln, "cpu"))


def test_a_deprecated_image_names_its_successor_and_a_retired_one_is_gone(
    kiln: RunningKiln,
) -> None:
    made = {}
    for display_name in ("old-stack", "new-stack"):
        status, body = kiln.api(
            "POST",
            "/api/v1/groups/cv/images",
            {"display_name": display_name, "type": "cpu", "url": f"registry.example/cv/{display_name}:1"},
        )
        assert status == 201, body
        made[display_name] = body["name"]
    path = f"/api/v1/groups/cv/images/{made['old-stack']}"
    status, body = kiln.api("PUT", path + "/deprecation", {"successor": made["new-stack"]})
    assert status == 200, body
    names = [p["display_name"] for p in profiles(kiln, "cpu")]
    assert names[0] == "new-stack (Group cv)", names
    assert names[-1] == "old-stack (Group cv, deprecated)", names
    old = by_display_name(profiles(kiln, "cpu"))["old-stack (Group cv, deprecated)"]
    assert "Deprecated — use new-stack instead." in old["description"]

    status, body = kiln.api("POST", path + "/retire")
    assert status == 200, body
    assert "old-stack (Group cv, deprecated)" not in by_display_name(profiles(kiln, "cpu"))
    status, body = kiln.api("POST", path + "/restore")
    assert status == 200, body
    assert "old-stack (Group cv)" in by_display_name(profiles(kiln, "cpu"))
    for name in made.values():
        assert kiln.api("DELETE", f"/api/v1/groups/cv/images/{name}")[0] == 204


def test_a_revoked_token_is_a_clear_error(kiln: RunningKiln) -> None:
    token = kiln.token("--name", "revoked-hub", "--scope", "read")
    images = KilnImages(kiln.url, token)
    assert asyncio.run(images.profile_list(fake_spawner("alice")))  # works until revoked
    kiln.cli("token", "revoke", "revoked-hub")
    # The command line is another process: Kiln answers from a read of its change counter
    # begun at most KILN_LAUNCH_MAX_STALENESS (10 ms) before the request, so the revocation
    # shows once that long has passed (a revocation through Kiln's API shows at once).
    time.sleep(0.05)
    with pytest.raises(KilnError, match="'alice' from Kiln: HTTP 401 ") as caught:
        asyncio.run(images.profile_list(fake_spawner("alice")))
    assert caught.value.status == 401 and caught.value.code
    assert token not in str(caught.value)


def test_kubespawner_starts_the_image_kiln_resolved(
    kiln: RunningKiln, make_spawner: MakeSpawner
) -> None:
    slug = kiln.slug("torch-2.1", "gpu")

    async def test() -> Any:
        images = KilnImages(kiln.url, kiln.read_token, accelerator="gpu")
        spawner = make_spawner("alice", images.profile_list, user_options={"profile": slug})
        await spawner.load_user_options()
        return spawner, await spawner.get_pod_manifest()

    spawner, pod = asyncio.run(test())
    assert spawner.image == "registry.example/ml/torch-gpu:2.1"
    assert pod.spec.containers[0].image == "registry.example/ml/torch-gpu:2.1"
    assert spawner.image_pull_secrets == ["ml-registry"]
    assert [s.name for s in pod.spec.image_pull_secrets] == ["ml-registry"]
