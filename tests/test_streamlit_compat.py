"""dashboard.streamlit_compat against the installed Streamlit: fails when a release renames the private flag or
changes how a pages/ folder is routed, so the hook is revisited (or deleted) rather than silently doing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from dashboard.streamlit_compat import LEGACY_FLAG, leave_legacy_pages_mode, legacy_pages_mode

APP = """
import streamlit as st
st.title("through app.py")
st.navigation([st.Page("pages/hooked.py", default=True), st.Page("pages/bare.py")]).run()
"""
HOOKED = """
from dashboard.streamlit_compat import route_through_app
route_through_app()
import streamlit as st
st.write("hooked page ran")
"""
BARE = """
import streamlit as st
st.write("bare page ran")
"""


@pytest.fixture
def pages_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny app laid out like ours (app.py with st.navigation, and a pages/ folder), in Streamlit's fresh state."""
    monkeypatch.undo()  # conftest's app_entry_mode would leave the legacy mode before these tests can see it
    monkeypatch.setattr(PagesManager, LEGACY_FLAG, None)  # as in a fresh server process; restored afterwards
    (tmp_path / "pages").mkdir()
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "pages" / "hooked.py").write_text(HOOKED)
    (tmp_path / "pages" / "bare.py").write_text(BARE)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))  # the pages import dashboard
    return tmp_path / "app.py"


def texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown] + [t.value for t in at.title]


def test_streamlit_still_keeps_the_flag_the_hook_clears(pages_app: Path) -> None:
    PagesManager(str(pages_app))  # the first session of a server decides, from the pages/ folder
    assert legacy_pages_mode(), f"PagesManager.{LEGACY_FLAG} no longer says a pages/ folder routes by file name"
    leave_legacy_pages_mode()
    PagesManager(str(pages_app))  # later sessions keep the decision
    assert not legacy_pages_mode()


def test_without_the_hook_a_deep_link_bypasses_app_py(pages_app: Path) -> None:
    """What the hook is for; when this fails, Streamlit routes pages/ through st.navigation itself: drop the hook."""
    at = AppTest.from_file(str(pages_app), default_timeout=30)
    at.switch_page("pages/bare.py").run()
    assert not at.exception, at.exception
    assert "bare page ran" in texts(at) and "through app.py" not in texts(at)


def test_with_the_hook_a_deep_link_runs_through_app_py(pages_app: Path) -> None:
    at = AppTest.from_file(str(pages_app), default_timeout=30)
    at.switch_page("pages/hooked.py").run()
    assert not at.exception, at.exception
    assert "through app.py" in texts(at) and "hooked page ran" in texts(at)
    assert not legacy_pages_mode(), "every later session goes through app.py"
