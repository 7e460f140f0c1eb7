"""The library's front door: `import emotion_core` gives load, available_models, Predictor, Face and EMOTIONS, costs
no TensorFlow, and the README's "Use it from Python" example runs as written."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import cv2
import pytest

import emotion_core
from emotion_core.labels import EMOTIONS
from tests.conftest import REPO, shared_photo

IMPORT_ONLY = """
import sys
import emotion_core
from emotion_core import EMOTIONS, Face, Predictor, available_models, load
names = available_models()
heavy = [m for m in ("tensorflow", "keras") if m in sys.modules]
sys.exit(f"import emotion_core loaded {', '.join(heavy)}" if heavy else 0)
"""


def readme_example() -> str:
    """The first Python block under the README's "Use it from Python" heading."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's 'Use it from Python' section has no ```python block"
    return blocks[0]


def test_the_front_door_names_the_public_api():
    assert sorted(emotion_core.__all__) == ["EMOTIONS", "Face", "Predictor", "available_models", "load"]
    assert all(hasattr(emotion_core, name) for name in emotion_core.__all__)
    assert emotion_core.available_models()[0] == "default"


@pytest.mark.slow  # a fresh interpreter: the test process has long since loaded TensorFlow
def test_import_emotion_core_loads_no_tensorflow():
    done = subprocess.run([sys.executable, "-c", IMPORT_ONLY], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]


def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    photo = shared_photo("01_happy.png")  # skips, saying why, where ../shared/data is absent
    assert cv2.imwrite(str(tmp_path / "photo.jpg"), cv2.imread(str(photo)))
    shutil.rmtree(tmp_path / "runs", ignore_errors=True)
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))  # available_models(): the shipped models only
    monkeypatch.chdir(tmp_path)

    exec(compile(readme_example(), "README.md", "exec"), {"__name__": "readme"})

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "['default', 'student']"
    emotion, share, at = lines[1].split(" ", 2)
    assert emotion in EMOTIONS and share.endswith("%") and at.startswith("at (")
    assert len(lines) == 4, "one face in the photo: its line, its scores and its JSON shape"
