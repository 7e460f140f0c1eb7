"""The one place that touches Streamlit internals: leaving the legacy ``pages/`` routing on a deep link.

Why it is needed: Streamlit 1.67 decides, when the first session of a server starts, whether the app is a legacy
``pages/``-folder app (``PagesManager.uses_pages_directory``, a process-wide class attribute set from the folder's
existence). Only ``st.navigation`` clears it, and only app.py calls that. So a deep link such as /photo opened
first after a server start runs pages/photo.py alone, under a sidebar listing the folder's files (app, batch,
dataset, ...), and app.py (page config, logging, the SRTP load order, the navigation) never runs. Streamlit offers
no public switch for this short of renaming the folder (its docs: "As soon as any session of your app executes
the st.navigation command, your app will ignore the pages/ directory"), and the folder name is the user's.

So every page's first statement, before its heavy imports, is ``route_through_app()`` (app.py calls it too):
in the legacy mode it clears the flag (what ``st.navigation`` does) and reruns, and the rerun starts at app.py,
whose navigation routes the same URL to the same page. Until then the file list stays hidden: .streamlit/config.toml
sets the public ``client.showSidebarNavigation = false``, which hides the navigation of a pages/-folder app; as
Streamlit applies it to ``st.navigation``'s sidebar too, leaving the legacy mode turns it back on (process-wide,
like the flag). It costs one rerun, once per server start. tests/test_streamlit_compat.py fails when a Streamlit
release renames or stops reading the flag; tests/test_browser.py checks the deep link in a browser.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

LEGACY_FLAG = "uses_pages_directory"  # PagesManager's class attribute: True while pages/ routes by file name
SHOW_NAVIGATION = "client.showSidebarNavigation"  # false in .streamlit/config.toml: the legacy file list is hidden


def legacy_pages_mode() -> bool:
    """Whether Streamlit is routing this process by the files in ``pages/`` (no app.py has run yet)."""
    return bool(getattr(PagesManager, LEGACY_FLAG, False))


def leave_legacy_pages_mode() -> None:
    """Route every later run of every session through app.py, as ``st.navigation`` does, and show its menu."""
    setattr(PagesManager, LEGACY_FLAG, False)
    st.set_option(SHOW_NAVIGATION, True)


def route_through_app() -> None:
    """First statement of every page: a run that bypassed app.py reruns through it, before any heavy import."""
    if legacy_pages_mode():
        leave_legacy_pages_mode()
        st.rerun()
