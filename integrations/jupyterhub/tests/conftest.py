"""Fixtures: a canned Kiln on 127.0.0.1, and KubeSpawners that need no cluster."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from canned import CannedKiln, MakeSpawner, Request


@pytest.fixture
def canned_kiln() -> Iterator[CannedKiln]:
    kiln = CannedKiln()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            kiln.requests.append(Request(self.path, dict(self.headers.items())))
            if kiln.delay:
                time.sleep(kiln.delay)
            self.send_response(kiln.status)
            self.send_header("Content-Type", kiln.content_type)
            self.send_header("Content-Length", str(len(kiln.body)))
            for name, value in kiln.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(kiln.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    kiln.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield kiln
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def no_cluster_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A kubeconfig naming an API server that is not there.

    KubeSpawner's constructor loads the Kubernetes client configuration (in-cluster, else
    the kubeconfig) and creates a client, but contacts the API server only to start pods,
    which these tests never do. Port 9 on 127.0.0.1 (discard) has no API server.
    """
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(
        """apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:9"}
users:
- name: none
  user: {token: not-a-token}
contexts:
- name: none
  context: {cluster: none, user: none, namespace: jupyterhub-test}
current-context: none
"""
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUBECONFIG", str(path))
        mp.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield path


@pytest.fixture
def make_spawner(no_cluster_kubeconfig: Path) -> MakeSpawner:
    """Builds a real ``kubespawner.KubeSpawner`` for a user, without a cluster.

    Call it inside a running event loop: KubeSpawner creates its (unused) Kubernetes
    client per loop. ``_mock=True`` is KubeSpawner's own test switch that fills in a
    stand-in Hub object; the user is ours.
    """
    from kubespawner import KubeSpawner

    def make(username: str, profile_list: Any, user_options: dict | None = None) -> Any:
        user = SimpleNamespace(name=username, id=1, url=f"/user/{username}/")
        spawner = KubeSpawner(_mock=True, user=user, profile_list=profile_list)
        spawner.user_options = user_options or {}
        return spawner

    return make


def pytest_report_header() -> str:
    bin_ = os.environ.get("KILN_BIN")
    return f"KILN_BIN: {bin_}" if bin_ else "KILN_BIN unset: tests against a running Kiln skip"
