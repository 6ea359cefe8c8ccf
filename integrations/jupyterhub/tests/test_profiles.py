"""KilnImages against a canned Kiln on 127.0.0.1: the request, the mapping, the errors."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from canned import CPU_IMAGES, GPU_IMAGES, CannedKiln, answer, entry, fake_spawner

from kiln_jupyterhub import KilnError, KilnImages, profile_slug

TOKEN = "kiln_read_secret"
DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")


def profiles(images: KilnImages, user: str = "alice") -> list:
    return asyncio.run(images.profile_list(fake_spawner(user)))


def test_one_profile_per_available_image_in_kilns_order(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(200, answer(CPU_IMAGES))
    got = profiles(KilnImages(canned_kiln.url, TOKEN))
    assert got == [
        {
            "display_name": "base (System)",
            "slug": "cpu-system--base",
            "description": "Python and JupyterLab",
            "kubespawner_override": {"image": "registry.example/system/base:1"},
            "default": True,
        },
        {
            "display_name": "opencv-4.9 (Group cv)",
            "slug": "cpu-cv--opencv-4-9",
            "description": "&lt;b&gt;OpenCV&lt;/b&gt; &amp; friends",
            "kubespawner_override": {
                "image": "registry.example/cv/opencv:4.9",
                "image_pull_secrets": ["cv-registry"],
            },
        },
        {
            "display_name": "torch-2.1 (Group ml)",
            "slug": "cpu-ml--torch-2-1",
            "description": "PyTorch 2.1",
            "kubespawner_override": {
                "image": "registry.example/ml/torch:2.1",
                "image_pull_secrets": ["regcred"],
            },
        },
    ]


def test_unavailable_images_are_left_out_with_the_reason_logged(
    canned_kiln: CannedKiln, caplog: pytest.LogCaptureFixture
) -> None:
    canned_kiln.answer(200, answer(CPU_IMAGES))
    with caplog.at_level(logging.INFO, logger="kiln_jupyterhub"):
        slugs = [p["slug"] for p in profiles(KilnImages(canned_kiln.url, TOKEN))]
    assert "cpu-ml--cuda-tools" not in slugs  # a GPU image on a CPU launch
    assert "cpu-ml--nightly" not in slugs  # not built yet
    assert "cuda-tools to alice on cpu: A GPU image: it needs a launch with a GPU." in caplog.text
    assert "nightly to alice on cpu: Not ready: its first build is still running." in caplog.text


def test_gpu_launch_takes_kilns_url_and_shows_its_warning(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(200, answer(GPU_IMAGES, accelerator="gpu"))
    got = profiles(KilnImages(canned_kiln.url, TOKEN, accelerator="gpu"))
    assert [p["slug"] for p in got] == ["gpu-system--base", "gpu-ml--torch-2-1"]
    assert got[0]["description"] == (
        "Python and JupyterLab Warning: A CPU-only image: it will not use the GPU."
    )
    assert got[1]["kubespawner_override"]["image"] == "registry.example/ml/torch-gpu:2.1"
    assert got[0]["default"] and "default" not in got[1]


def test_the_request_names_the_user_accelerator_and_token(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(200, answer([]))
    images = KilnImages(canned_kiln.url + "/", TOKEN, accelerator="gpu")
    assert asyncio.run(images.fetch("alice")) == []
    (request,) = canned_kiln.requests
    url = urlsplit(request.path)
    assert url.path == "/api/v1/users/alice/launchable-images"
    assert parse_qs(url.query) == {"accelerator": ["gpu"]}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_include_not_ready_is_asked_for_but_not_offered(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(200, answer(CPU_IMAGES))
    images = KilnImages(canned_kiln.url, TOKEN, include_not_ready=True)
    raw = asyncio.run(images.fetch("alice"))
    assert [e["name"] for e in raw] == [e["name"] for e in CPU_IMAGES]
    assert parse_qs(urlsplit(canned_kiln.requests[0].path).query) == {
        "accelerator": ["cpu"],
        "include_not_ready": ["true"],
    }
    assert "cpu-ml--nightly" not in [p["slug"] for p in profiles(images)]


@pytest.mark.parametrize(
    "user, path",
    [
        ("jo.doe@example.org", "jo.doe%40example.org"),
        ("a+b", "a%2Bb"),
        ("../admin", "..%2Fadmin"),
        ("x y?z#", "x%20y%3Fz%23"),
    ],
)
def test_the_user_name_is_percent_encoded(canned_kiln: CannedKiln, user: str, path: str) -> None:
    canned_kiln.answer(200, answer([]))
    asyncio.run(KilnImages(canned_kiln.url, TOKEN).fetch(user))
    assert canned_kiln.requests[0].path.startswith(f"/api/v1/users/{path}/launchable-images?")


def test_a_path_prefix_in_kilns_url_is_kept(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(200, answer([]))
    asyncio.run(KilnImages(canned_kiln.url + "/kiln/", TOKEN).fetch("alice"))
    assert canned_kiln.requests[0].path.startswith("/kiln/api/v1/users/alice/")


def test_kilns_json_error_is_raised_with_status_code_and_message(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(
        401,
        {"error": {"code": "bad_token", "message": "The token was revoked.", "field": None}},
    )
    with pytest.raises(KilnError) as caught:
        profiles(KilnImages(canned_kiln.url, TOKEN))
    error = caught.value
    assert (error.status, error.code, error.field) == (401, "bad_token", None)
    assert str(error) == (
        "Could not get the images of 'alice' from Kiln: HTTP 401 bad_token: The token was revoked."
    )
    # JupyterHub's error page shows this attribute to the user.
    assert error.jupyterhub_message == str(error)
    assert TOKEN not in str(error)


def test_kilns_field_error_names_the_field(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(
        422,
        {"error": {"code": "invalid", "message": "must be cpu or gpu", "field": "accelerator"}},
    )
    with pytest.raises(
        KilnError, match=r"HTTP 422 invalid: must be cpu or gpu \(field accelerator\)"
    ):
        profiles(KilnImages(canned_kiln.url, TOKEN))


def test_an_unknown_user_is_a_404(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(
        404, {"error": {"code": "not_found", "message": "No user nobody.", "field": None}}
    )
    with pytest.raises(KilnError, match="'nobody' from Kiln: HTTP 404 not_found: No user nobody."):
        profiles(KilnImages(canned_kiln.url, TOKEN), user="nobody")


def test_an_error_page_that_is_not_kilns_json(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(502, b"<html>Bad Gateway</html>", content_type="text/html")
    with pytest.raises(KilnError, match="HTTP 502: <html>Bad Gateway</html>") as caught:
        profiles(KilnImages(canned_kiln.url, TOKEN))
    assert (caught.value.status, caught.value.code) == (502, None)


def test_a_redirect_is_not_followed(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(302, b"")
    canned_kiln.headers["Location"] = canned_kiln.url + "/elsewhere"
    with pytest.raises(KilnError, match="HTTP 302"):
        profiles(KilnImages(canned_kiln.url, TOKEN))
    assert len(canned_kiln.requests) == 1  # the token went nowhere else


def test_an_answer_that_is_not_kilns_json(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(200, b"<html>sign in</html>", content_type="text/html")
    with pytest.raises(KilnError, match="Kiln's answer is not the expected JSON"):
        profiles(KilnImages(canned_kiln.url, TOKEN))


def test_connection_refused() -> None:
    with socket.socket() as s:  # a port that was free a moment ago, with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(KilnError, match=rf"Kiln at {url} is unreachable \(.*refused") as caught:
        profiles(KilnImages(url, TOKEN))
    assert caught.value.status is None


def test_a_slow_kiln_times_out(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(200, answer([]))
    canned_kiln.delay = 1.0
    with pytest.raises(KilnError, match="is unreachable .*timed out"):
        profiles(KilnImages(canned_kiln.url, TOKEN, timeout=0.2))


def test_no_launchable_image_is_an_error_unless_allowed(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(200, answer([CPU_IMAGES[1]]))  # only a GPU image, on CPU
    with pytest.raises(KilnError, match="Kiln has no image that alice can launch on CPU"):
        profiles(KilnImages(canned_kiln.url, TOKEN))
    assert profiles(KilnImages(canned_kiln.url, TOKEN, require_images=False)) == []


def test_label_and_extra_override(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(200, answer(GPU_IMAGES, accelerator="gpu"))
    limits = {"extra_resource_limits": {"nvidia.com/gpu": "1"}, "image": "ignored"}
    images = KilnImages(
        canned_kiln.url, TOKEN, accelerator="gpu", label="GPU", extra_override=limits
    )
    torch = profiles(images)[1]
    assert torch["display_name"] == "torch-2.1 (Group ml, GPU)"
    assert torch["kubespawner_override"] == {
        "extra_resource_limits": {"nvidia.com/gpu": "1"},
        "image": "registry.example/ml/torch-gpu:2.1",
        "image_pull_secrets": ["regcred"],
    }
    assert limits["image"] == "ignored"  # the caller's mapping is not changed


def test_arguments_are_checked_and_the_token_is_not_shown() -> None:
    with pytest.raises(ValueError, match="accelerator"):
        KilnImages("http://kiln", TOKEN, accelerator="tpu")
    with pytest.raises(ValueError, match="token"):
        KilnImages("http://kiln", "")
    assert TOKEN not in repr(KilnImages("http://kiln", TOKEN))


def group_entry(group: str, name: str) -> dict:
    return entry(name=name, owner={"group": group})


def test_slugs_are_readable_where_they_can_be() -> None:
    assert profile_slug(entry(name="base"), "cpu") == "cpu-system--base"
    assert profile_slug(group_entry("ml", "torch-2-1"), "gpu") == "gpu-ml--torch-2-1"
    assert profile_slug(group_entry("ml-team", "a"), "cpu") == "cpu-ml-team--a"


@pytest.mark.parametrize(
    "a, b",
    [
        # A group named "system" against the global image of the same name.
        (entry(name="base"), group_entry("system", "base")),
        # Where "--" would split differently.
        (group_entry("a", "b--c"), group_entry("a--b", "c")),
        # Characters that are not DNS-safe, cleaned up to the same text.
        (group_entry("team.v1", "x"), group_entry("team_v1", "x")),
        (group_entry("team.v1", "x"), group_entry("team-v1", "x")),
        # Long names cut to the same prefix.
        (group_entry("g" * 63, "a" * 63), group_entry("g" * 63, "a" * 62 + "b")),
    ],
)
def test_slugs_are_unique_and_dns_labels(a: dict, b: dict) -> None:
    slug_a, slug_b = profile_slug(a, "cpu"), profile_slug(b, "cpu")
    assert slug_a != slug_b
    for slug in (slug_a, slug_b):
        assert DNS_LABEL.match(slug), slug
    assert profile_slug(a, "cpu") == slug_a  # stable
    assert profile_slug(a, "gpu") != slug_a  # a CPU and a GPU list can be combined


def test_an_unknown_owner_is_an_error(canned_kiln: CannedKiln) -> None:
    canned_kiln.answer(200, answer([entry(owner={"user": "bob"})]))
    with pytest.raises(KilnError, match="unknown owner"):
        profiles(KilnImages(canned_kiln.url, TOKEN))


def test_a_deprecated_image_goes_last_with_its_note_and_its_successor_first(
    canned_kiln: CannedKiln,
) -> None:
    note = "Deprecated — use torch-2.1 instead; it leaves the launch list on 2027-01-01 00:00 UTC."
    deprecated = entry(
        description="Python and JupyterLab",
        warning=note,
        deprecated={
            "since": 1,
            "successor": {"name": "torch-2-1", "display_name": "torch-2.1", "owner": {"group": "ml"}},
            "retire_at": 1798761600000,
        },
    )
    canned_kiln.answer(200, answer([deprecated, *CPU_IMAGES[1:]]))
    got = profiles(KilnImages(canned_kiln.url, TOKEN))
    assert [p["display_name"] for p in got] == [
        "torch-2.1 (Group ml)",
        "opencv-4.9 (Group cv)",
        "base (System, deprecated)",
    ]
    assert got[0]["default"] is True
    assert "default" not in got[2]
    assert got[2]["description"] == f"Python and JupyterLab Warning: {note}"
