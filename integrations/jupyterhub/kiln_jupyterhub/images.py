"""Ask Kiln which images a user may launch, and turn the answer into KubeSpawner profiles."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import html
import http.client
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

__all__ = ["KilnError", "KilnImages", "profile_slug"]

log = logging.getLogger(__name__)

#: One image entry as Kiln sends it, or one KubeSpawner profile.
Entry = dict[str, Any]
Profile = dict[str, Any]

ACCELERATORS = ("cpu", "gpu")

# A name part that can be written into a slug as it is: runs of lowercase letters and
# digits joined by single '-'. Most Kiln names are; but group names may hold '.' or '_'
# (not DNS-safe), and group and image names may hold "--" (which would make the "--"
# between owner and name ambiguous).
_PLAIN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_SLUG_MAX = 63


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Kiln's API does not redirect: a redirect is answered as an error, so the token is
    never sent on to another address."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


class KilnError(Exception):
    """Kiln could not be reached, or refused or garbled the request.

    The message names the user, what went wrong and, when Kiln answered with its JSON
    error, its HTTP status, ``code`` and ``message``. JupyterHub shows an exception's
    ``jupyterhub_message`` on its error page, so the person at the spawn page reads it.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        #: The HTTP status Kiln answered with; None when there was no answer.
        self.status = status
        #: Kiln's error code, e.g. ``bad_token`` or ``not_found``, when it sent one.
        self.code = code
        #: The request field Kiln's error is about, when it named one.
        self.field = field

    @property
    def jupyterhub_message(self) -> str:
        return str(self)


def profile_slug(entry: Entry, accelerator: str) -> str:
    """A stable, unique, DNS-label-safe slug for an image entry on an accelerator.

    ``cpu-ml--torch-2-1`` for the group ``ml``'s image ``torch-2-1``, ``gpu-system--base``
    for the global image ``base`` on GPU. When the owner or name cannot be written as they
    are (a group named ``system``, or with ``.``, ``_`` or ``--`` in it, or a slug longer
    than 63 characters), the slug is a cleaned-up prefix, ``---`` and a hash of the exact
    owner and name, e.g. ``cpu-team-v1-torch---3f9a1c0b2e``. Plain slugs never hold
    ``---``, so the two forms cannot collide.
    """
    kind, owner = _owner(entry)
    name = str(entry.get("name", ""))
    owner_part = "system" if kind == "system" else owner
    plain = f"{accelerator}-{owner_part}--{name}"
    if (
        _PLAIN.match(name)
        and _PLAIN.match(owner_part)
        and (kind == "system" or owner != "system")
        and len(plain) <= _SLUG_MAX
    ):
        return plain
    digest = hashlib.sha256(f"{kind}\0{owner}\0{name}".encode()).hexdigest()[:10]
    room = _SLUG_MAX - len(accelerator) - 1 - 3 - len(digest)
    readable = re.sub(r"[^a-z0-9]+", "-", f"{owner_part}-{name}".lower()).strip("-")
    readable = readable[:room].rstrip("-") or "image"
    return f"{accelerator}-{readable}---{digest}"


def _owner(entry: Entry) -> tuple[str, str]:
    """("system", "") for a global image, ("group", NAME) for a group's."""
    owner = entry.get("owner")
    if owner == "system":
        return "system", ""
    if isinstance(owner, dict) and isinstance(owner.get("group"), str):
        return "group", owner["group"]
    raise KilnError(f"Kiln sent an image with an unknown owner: {owner!r}")


class KilnImages:
    """The images one user may launch, read from Kiln with a read-scope service token.

    ``accelerator`` says which launch the profiles are for: on ``cpu``, GPU-only images
    are left out; on ``gpu``, universal images use their GPU URL and CPU-only images come
    with Kiln's warning. A deployment offering both creates two ``KilnImages`` (their slugs
    differ by the ``cpu-``/``gpu-`` prefix) and passes ``label`` to tell them apart, plus
    whatever the GPU pods need in ``extra_override``.

    Use as ``c.KubeSpawner.profile_list = KilnImages(...).profile_list``.
    """

    def __init__(
        self,
        url: str,
        token: str,
        accelerator: str = "cpu",
        include_not_ready: bool = False,
        timeout: float = 5,
        *,
        label: str | None = None,
        extra_override: Mapping[str, Any] | None = None,
        require_images: bool = True,
    ) -> None:
        """
        :param url: Kiln's base URL, e.g. ``http://kiln.kiln.svc:8080``; a path prefix is kept.
        :param token: a Kiln service token (``kiln token create --scope read``).
        :param accelerator: ``"cpu"`` or ``"gpu"``: which launch the images are resolved for.
        :param include_not_ready: also fetch images whose first build has not succeeded;
            :meth:`fetch` returns them, :meth:`profile_list` leaves them out (they cannot
            be launched).
        :param timeout: seconds to wait for Kiln.
        :param label: added to each display name, e.g. ``"GPU"``: "torch-2.1 (Group ml, GPU)".
        :param extra_override: more ``kubespawner_override`` keys for every profile, e.g.
            ``{"extra_resource_limits": {"nvidia.com/gpu": "1"}}``. Kiln's ``image`` and
            ``image_pull_secrets`` take precedence.
        :param require_images: raise :class:`KilnError` when the user can launch no image,
            rather than return an empty list (with which KubeSpawner would start its
            default image). Set it to False when combining several lists.
        """
        if accelerator not in ACCELERATORS:
            raise ValueError(f"accelerator must be 'cpu' or 'gpu', not {accelerator!r}")
        if not url:
            raise ValueError("url is required: Kiln's base URL")
        if not token:
            raise ValueError("token is required: a Kiln read-scope service token")
        self.url = url.rstrip("/")
        self._token = token
        self.accelerator = accelerator
        self.include_not_ready = include_not_ready
        self.timeout = timeout
        self.label = label
        self.extra_override: dict[str, Any] = dict(extra_override or {})
        self.require_images = require_images

    def __repr__(self) -> str:  # never shows the token
        return f"KilnImages({self.url!r}, accelerator={self.accelerator!r})"

    def launchable_url(self, username: str) -> str:
        """The URL of ``username``'s launchable images (the name is percent-encoded)."""
        query: dict[str, str] = {"accelerator": self.accelerator}
        if self.include_not_ready:
            query["include_not_ready"] = "true"
        user = urllib.parse.quote(username, safe="")
        return f"{self.url}/api/v1/users/{user}/launchable-images?{urllib.parse.urlencode(query)}"

    async def fetch(self, username: str) -> list[Entry]:
        """Kiln's image entries for ``username``, in Kiln's order (by display name).

        Raises :class:`KilnError` when Kiln is unreachable, answers an error (unknown
        user: 404, bad token: 401) or answers something that is not its JSON.
        """
        return await asyncio.to_thread(self._fetch_sync, username)

    def _fetch_sync(self, username: str) -> list[Entry]:
        what = f"Could not get the images of {username!r} from Kiln"
        request = urllib.request.Request(
            self.launchable_url(username),
            headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
        )
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as e:
            raise _answered_error(what, e) from None
        except urllib.error.URLError as e:
            raise KilnError(f"{what}: Kiln at {self.url} is unreachable ({e.reason})") from e
        except (OSError, http.client.HTTPException) as e:  # timeouts, dropped connections
            raise KilnError(f"{what}: Kiln at {self.url} is unreachable ({e})") from e
        try:
            images = json.loads(body)["images"]
            if not isinstance(images, list):
                raise TypeError("images is not a list")
        except (ValueError, KeyError, TypeError) as e:
            raise KilnError(f"{what}: Kiln's answer is not the expected JSON ({e})") from e
        return images

    def to_profile(self, entry: Entry) -> Profile:
        """The KubeSpawner profile for one available image entry."""
        kind, group = _owner(entry)
        owner = "System" if kind == "system" else f"Group {group}"
        marker = f"{owner}, {self.label}" if self.label else owner
        if entry.get("deprecated"):
            marker += ", deprecated"
        description = " ".join(
            part
            for part in (entry.get("description") or "", _warning(entry.get("warning")))
            if part
        )
        override = copy.deepcopy(self.extra_override)
        override["image"] = entry["url"]
        if entry.get("pull_secret"):
            override["image_pull_secrets"] = [entry["pull_secret"]]
        # KubeSpawner renders display_name and description into its form without
        # escaping ("should be HTML safe"), and descriptions are free text.
        return {
            "display_name": html.escape(f"{entry['display_name']} ({marker})"),
            "slug": profile_slug(entry, self.accelerator),
            "description": html.escape(description),
            "kubespawner_override": override,
        }

    def profiles(
        self, entries: list[Entry], username: str, logger: logging.Logger | None = None
    ) -> list[Profile]:
        """Profiles for ``username``'s available entries, in order; the first is the default.

        The order is Kiln's, except that an image a deprecated one names as its successor
        comes first and deprecated images come last: the default is never a deprecated
        image while another can be launched, and the replacement is the first one seen.
        A deprecated image's profile says so in its name, and its description carries
        Kiln's note ("Deprecated — use torch-2 instead; …").

        Entries that are not available are left out (KubeSpawner cannot show a disabled
        profile), each with an info line in ``logger`` saying why.
        """
        profiles: list[Profile] = []
        for entry in _successors_first(entries):
            if entry.get("available") and entry.get("url"):
                profiles.append(self.to_profile(entry))
            else:
                (logger or log).info(
                    "Not offering Kiln image %s to %s on %s: %s",
                    entry.get("display_name") or entry.get("name"),
                    username,
                    self.accelerator,
                    entry.get("reason") or "not available",
                )
        if profiles:
            profiles[0]["default"] = True
        elif self.require_images:
            raise KilnError(
                f"Kiln has no image that {username} can launch on {self.accelerator.upper()}."
                " A group admin can add one in Kiln, or a system admin can add you to a group."
            )
        return profiles

    async def profile_list(self, spawner: Any) -> list[Profile]:
        """KubeSpawner's ``profile_list`` callable: the profiles of ``spawner.user``."""
        username = spawner.user.name
        entries = await self.fetch(username)
        return self.profiles(entries, username, getattr(spawner, "log", None))


def _successors_first(entries: list[Entry]) -> list[Entry]:
    """Entries reordered: successors of deprecated entries, then the others, then the
    deprecated ones; Kiln's order within each (a stable sort)."""

    def key(entry: Entry) -> tuple[str, str]:
        kind, group = _owner(entry)
        return (group if kind == "group" else "", str(entry.get("name", "")))

    successors = set()
    for entry in entries:
        successor = (entry.get("deprecated") or {}).get("successor")
        if isinstance(successor, dict):
            successors.add(key(successor))

    def rank(entry: Entry) -> int:
        if entry.get("deprecated"):
            return 2
        return 0 if key(entry) in successors else 1

    return sorted(entries, key=rank)


def _warning(warning: str | None) -> str:
    return f"Warning: {warning}" if warning else ""


def _answered_error(what: str, e: urllib.error.HTTPError) -> KilnError:
    """A KilnError from Kiln's JSON error answer, or from whatever else answered."""
    raw = e.read()
    try:
        error = json.loads(raw)["error"]
        code, message, field = error.get("code"), error.get("message"), error.get("field")
    except (ValueError, KeyError, TypeError, AttributeError):
        # Not Kiln's JSON: a proxy's page, perhaps. Show its start.
        code, field = None, None
        message = raw.decode("utf-8", "replace").strip()[:200] or e.reason
    text = f"{what}: HTTP {e.code}"
    if code:
        text += f" {code}"
    text += f": {message}"
    if field:
        text += f" (field {field})"
    return KilnError(text, status=e.code, code=code, field=field)
