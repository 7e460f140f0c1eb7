"""Who may reach ``serve``: its token (``EMOTION_API_TOKEN`` or ``--token-file``) and the Host names it answers.

Bound to a loopback address, the API is this machine's and needs no token. Bound to any other address without a
token, ``serve`` refuses to start and says how to set one: a server that others can reach is never open by accident.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from emotion_core.errors import EmotionCoreError
from emotion_core.serve.guards import LOOPBACK_HOSTS

TOKEN_VARIABLE = "EMOTION_API_TOKEN"
MIN_TOKEN_CHARS = 16
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine reaches (``0.0.0.0`` and ``::`` are every interface)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(token_file: str | None) -> str | None:
    """The token from ``token_file`` (first line) or else the environment; None when neither sets one."""
    if token_file is not None:
        try:
            lines = Path(token_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeError) as error:
            raise EmotionCoreError(f"cannot read --token-file: {error.__class__.__name__}") from error
        token = lines[0].strip() if lines else ""
        source = "--token-file"
    else:
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        source = TOKEN_VARIABLE
        if not token:
            return None
    if len(token) < MIN_TOKEN_CHARS:
        raise EmotionCoreError(f"{source} holds a token under {MIN_TOKEN_CHARS} characters; make one with {MAKE_TOKEN}")
    return token


def check_exposure(host: str, token: str | None) -> None:
    """Refuse a non-loopback bind without a token, with the one line that says how to set one."""
    if token is None and not is_loopback(host):
        raise EmotionCoreError(
            f"--host {host} is reachable from other machines, so the API needs a token: "
            f"export {TOKEN_VARIABLE}=$({MAKE_TOKEN}) or pass --token-file FILE"
        )


def allowed_hosts(listed: str | None, bind_host: str) -> tuple[str, ...]:
    """``--allowed-hosts`` (comma-separated) or the loopback names, plus the bound address when it is a specific one."""
    names = [h.strip() for h in listed.split(",") if h.strip()] if listed else list(LOOPBACK_HOSTS)
    if bind_host not in ("0.0.0.0", "::", "") and not is_loopback(bind_host):
        names.append(bind_host)
    return tuple(names)
