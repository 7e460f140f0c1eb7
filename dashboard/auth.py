"""Who this session is, for a shared dashboard: the optional admin login and the session's Actor. UI glue only;
the rules (roles, ownership, what a role may do) are emotion_core.actors'.

The password is configured as a hash (``python -m emotion_core hash-password``) in ``.streamlit/secrets.toml``
(``[auth] admin_password_hash``) or ``$EMOTION_ADMIN_PASSWORD_HASH``, and checked in constant time, the way
Streamlit's docs do it for self-hosted apps without single sign-on. There are no user names: one admin password.
"""

from __future__ import annotations

import os
import secrets

import streamlit as st

from emotion_core.actors import Access, Actor, Role, starting_access
from emotion_core.passwords import valid_hash, verify_password

HASH_ENV = "EMOTION_ADMIN_PASSWORD_HASH"
OWNER_KEY = "owner"  # a random id per browser session: what it uploads and starts is stored under it
ADMIN_KEY = "admin_login"  # True once this session has logged in


def password_hash() -> str:
    """The configured admin password hash ('' when none): secrets.toml first, then the environment."""
    try:
        configured = st.secrets.get("auth", {}).get("admin_password_hash", "")
    except FileNotFoundError:  # no secrets.toml (StreamlitSecretNotFoundError derives from it)
        configured = ""
    return str(configured or os.environ.get(HASH_ENV, "")).strip()


def session_access() -> Access:
    """The role a session starts with, from the server's bound address and whether a password is configured."""
    return starting_access(st.get_option("server.address"), bool(password_hash()))


def session_owner() -> str:
    """This browser session's owner id (random, never shown): a reload is a new session, and a new owner."""
    return st.session_state.setdefault(OWNER_KEY, secrets.token_urlsafe(24))


def current_actor() -> Actor:
    """This session as the core sees it: its owner id, admin once logged in (or on loopback without a password)."""
    access = session_access()
    admin = access.role is Role.ADMIN or (access.login and st.session_state.get(ADMIN_KEY, False))
    return Actor(session_owner(), Role.ADMIN if admin else Role.VIEWER)


def login_sidebar() -> None:
    """In the sidebar: why this is viewer mode, or the admin login (and logout) when a password is configured."""
    access = session_access()
    if access.reason:
        st.sidebar.warning(access.reason)
    if not access.login:
        return
    if st.session_state.get(ADMIN_KEY):
        st.sidebar.caption("Logged in as admin.")
        if st.sidebar.button("Log out", key="logout"):
            st.session_state[ADMIN_KEY] = False
            st.rerun()
        return
    stored = password_hash()
    if not valid_hash(stored):
        st.sidebar.error(
            "The configured admin password is not a hash: make one with `python -m emotion_core hash-password`."
        )
        return
    with st.sidebar.form("login", clear_on_submit=True):
        password = st.text_input("Admin password", type="password")
        if st.form_submit_button("Log in as admin"):
            if verify_password(password, stored):
                st.session_state[ADMIN_KEY] = True
                st.rerun()
            st.error("Wrong password.")
