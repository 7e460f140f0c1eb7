"""Who is asking, and what they may do: the roles of a shared dashboard and the ownership of background work.

A *viewer* uses photos, the webcam, videos, and datasets and batch jobs on their own uploads. An *admin* also
trains, manages models (rename, delete, combine) and opens folders on the server by typing their path. Work (a
training run, a batch job, a combine job) records its owner; only that owner or an admin acts on it or reads its
data, while anyone may see that something is busy. The core checks these rules itself (``require``,
``require_owner``), so a page that forgets a check still cannot act for the wrong person.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from emotion_core.errors import NotAllowedError

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class Role(StrEnum):
    VIEWER = "viewer"
    ADMIN = "admin"


class Action(StrEnum):
    """What only an admin may do, each with the message a viewer gets."""

    TRAIN = "train models"
    MANAGE_MODELS = "rename, delete or combine models"
    SERVER_PATHS = "open folders on the server by their path; upload a zip instead"


@dataclass(frozen=True)
class Actor:
    """A visitor: ``owner`` names what they start (a session's random id, or a login's user name)."""

    owner: str
    role: Role = Role.VIEWER

    @property
    def admin(self) -> bool:
        return self.role is Role.ADMIN

    def may(self, action: Action) -> bool:
        return self.admin

    def owns(self, owner: str | None) -> bool:
        """Whether this actor may act on work owned by ``owner`` (work without an owner: admins only)."""
        return self.admin or bool(owner) and owner == self.owner


# Whoever runs the command line already has a shell on the machine: they are the admin.
SHELL = Actor("shell", Role.ADMIN)


def require(actor: Actor, action: Action) -> None:
    """NotAllowedError (one line) unless ``actor`` may do ``action``."""
    if not actor.may(action):
        raise NotAllowedError(f"only an admin may {action.value}; log in as admin in the sidebar")


def require_owner(actor: Actor, owner: str | None, what: str) -> None:
    """NotAllowedError unless ``actor`` owns ``what`` (e.g. "this batch job") or is an admin."""
    if not actor.owns(owner):
        raise NotAllowedError(f"{what} belongs to another visitor; only they or an admin may open or change it")


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only ('' or None: every interface)."""
    return bool(address) and str(address).strip().lower() in LOOPBACK


@dataclass(frozen=True)
class Access:
    """How a session starts: its role before any login, whether a login is offered, and why (shown on the page)."""

    role: Role
    login: bool
    reason: str


def starting_access(address: str | None, password_set: bool) -> Access:
    """The role a new session gets from how the server is bound and whether an admin password is configured.

    No password on loopback: the one local user, admin as before. A password: everyone starts as a viewer and
    may log in. Another address (or every interface) without a password: viewers only, and the page says why.
    """
    if password_set:
        return Access(Role.VIEWER, True, "")
    if is_loopback(address):
        return Access(Role.ADMIN, False, "")
    return Access(
        Role.VIEWER,
        False,
        "Viewer mode: this dashboard listens on a network address and no admin password is set, so training, "
        "managing models and server folders are off. To enable them, make a hash with `python -m emotion_core "
        "hash-password` and put it in .streamlit/secrets.toml ([auth] admin_password_hash) or "
        "$EMOTION_ADMIN_PASSWORD_HASH, or run on localhost.",
    )
