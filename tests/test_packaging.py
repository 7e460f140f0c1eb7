"""One dependency list, and the package as a user installs it.

pyproject.toml declares what the package needs; the requirements files install the project with its extras and repeat
some pins, which must be pyproject's. The slow test builds the wheel, lets pip install it and its declared
dependencies in a fresh venv, and predicts a photo from another folder, as `pip install .` users do.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from emotion_core.labels import EMOTIONS
from tests.conftest import REPO, shared_photo

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
REQUIREMENTS_FILES = ["requirements.txt", "requirements-ray.txt", "requirements-dev.txt"]
# The packages the user chose for the app: requirements.txt names each, with its pin.
APP_CHOICES = ["streamlit", "streamlit-webrtc", "tensorflow", "opencv-python-headless", "numpy", "pandas", "altair"]
# Imports the package makes only inside a feature that its extra installs (import name -> extra).
OPTIONAL_IMPORTS = {"ray": "ray"}
PROJECT_LINE = re.compile(r"^-e \.(?:\[(?P<extras>[a-z,]+)\])?$")


def declared() -> dict[str, dict[str, Requirement]]:
    """pyproject's requirements: "" for the core dependencies, then one entry per extra, keyed by canonical name."""
    project = PYPROJECT["project"]
    lists = {"": project["dependencies"], **project["optional-dependencies"]}
    return {
        extra: {canonicalize_name(r.name): r for r in map(Requirement, requirements)}
        for extra, requirements in lists.items()
    }


def requirement_lines(name: str) -> Iterator[tuple[str, str]]:
    """(file, line) for every requirement in a requirements file and those it includes with -r, comments dropped."""
    for raw in (REPO / name).read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if line.startswith("-r "):
            yield from requirement_lines(line.removeprefix("-r ").strip())
        elif line and not line.startswith("#"):
            yield name, line


def project_extras(name: str) -> set[str]:
    """The extras a requirements file installs the project with (its `-e .[...]` lines and those it includes)."""
    extras: set[str] = set()
    for _, line in requirement_lines(name):
        if match := PROJECT_LINE.match(line):
            extras |= set(filter(None, (match["extras"] or "").split(",")))
    return extras


def test_every_pin_in_a_requirements_file_is_pyprojects():
    pins = {name: req for extra in declared().values() for name, req in extra.items()}
    checked = 0
    for source in REQUIREMENTS_FILES:
        for where, line in requirement_lines(source):
            if line.startswith("-"):
                assert PROJECT_LINE.match(line), f"{where}: {line!r} is neither a pin nor this project"
                continue
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{where}: {name} is not declared in pyproject.toml"
            assert requirement.specifier == pins[name].specifier, f"{where}: {line} but pyproject says {pins[name]}"
            assert requirement.extras == pins[name].extras, f"{where}: {line} but pyproject says {pins[name]}"
            checked += 1
    assert checked >= len(APP_CHOICES)


def test_requirements_txt_installs_the_app_and_names_the_chosen_packages():
    lines = [line for _, line in requirement_lines("requirements.txt")]
    pinned = [canonicalize_name(Requirement(line).name) for line in lines if not line.startswith("-")]
    assert sorted(pinned) == sorted(APP_CHOICES)
    assert project_extras("requirements.txt") == {"app"}
    assert project_extras("requirements-ray.txt") == {"app", "ray"}
    assert project_extras("requirements-dev.txt") == set(PYPROJECT["project"]["optional-dependencies"])


def test_no_package_is_declared_twice():
    names = [name for extra in declared().values() for name in extra]
    assert sorted(names) == sorted(set(names))


def imported_packages(*packages: str) -> dict[str, set[str]]:
    """Top-level third-party names the packages' modules import (any import, deferred ones too) -> the modules."""
    found: dict[str, set[str]] = {}
    ours = set(packages) | {"__future__"}
    for package in packages:
        for source in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for top in {name.split(".")[0] for name in names} - ours - set(sys.stdlib_module_names):
                    found.setdefault(top, set()).add(source.relative_to(REPO).as_posix())
    return found


def installed_closure(requirements: list[Requirement]) -> set[str]:
    """Canonical names of the requirements and everything they pull in, read from the installed distributions."""
    seen: set[str] = set()
    queue = [(r, set(r.extras)) for r in requirements]
    while queue:
        requirement, extras = queue.pop()
        name = canonicalize_name(requirement.name)
        key = name + str(sorted(extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here: its own dependencies cannot be read (it still counts as declared)
        for line in requires:
            child = Requirement(line)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras or {""}):
                queue.append((child, set(child.extras)))
    return {key.split("[")[0] for key in seen}


def test_every_third_party_import_is_declared():
    """What `pip install .` gives must cover what the package imports (yuface and scipy once were missing)."""
    wanted = declared()
    core = installed_closure(list(wanted[""].values()))
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for top, modules in sorted(imported_packages("emotion_core", "train").items()):
        extra = OPTIONAL_IMPORTS.get(top, "")
        allowed = core | installed_closure(list(wanted[extra].values())) if extra else core
        names = {canonicalize_name(d) for d in distributions.get(top, [top])}
        if not names & allowed:
            missing.append(f"{top} ({', '.join(sorted(names))}) imported by {', '.join(sorted(modules))}")
    assert missing == [], f"imported but not declared in pyproject.toml: {missing}"


# --- the package as a user installs it -----------------------------------------------------------------------

# What a build needs from the checkout: not the venv, caches, runs, nor a stale build/ (setuptools ships its files).
NOT_BUILT = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "runs", "__pycache__", "*_cache", "artifacts", "batch_jobs", "tests"
)
LOAD_FROM_PYTHON = """
import json
import emotion_core
predictor = emotion_core.load()
models = emotion_core.available_models()
print(json.dumps({"file": emotion_core.__file__, "labels": predictor.labels, "models": models}))
"""


def run(command: list[str | Path], cwd: Path, env: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    done = subprocess.run(list(map(str, command)), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{Path(command[0]).name} {command[1]}: {(done.stderr or done.stdout)[-2000:]}"
    return done


@pytest.mark.slow  # builds the wheel and installs it with its dependencies (TensorFlow): minutes, see RESULTS.md
def test_the_installed_wheel_predicts_a_photo_from_another_folder(tmp_path):
    photo = shared_photo("01_happy.png")  # skips, saying why, where ../shared/data is absent
    source, dist, venv, elsewhere = (tmp_path / name for name in ("source", "dist", "venv", "elsewhere"))
    shutil.copytree(REPO, source, ignore=NOT_BUILT)
    elsewhere.mkdir()
    # The user's environment, less anything that would let the checkout or this venv leak into the new one.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env |= {"PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "EMOTION_RUNS": str(tmp_path / "runs")}

    started = time.monotonic()
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, source], tmp_path, env, 600)
    (wheel,) = dist.glob("emotion_dashboard-*.whl")
    run([sys.executable, "-m", "venv", venv], tmp_path, env, 120)
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], tmp_path, env, 1800)  # pip resolves the rest
    installed = time.monotonic() - started

    predicted = run([venv / "bin" / "emotion", "predict", photo], elsewhere, env, 600)
    (line,) = predicted.stdout.splitlines()
    record = json.loads(line)
    assert record["image"] == str(photo) and len(record["faces"]) == 1, line
    (face,) = record["faces"]
    assert list(face["scores"]) == list(EMOTIONS) and abs(sum(face["scores"].values()) - 1) < 0.01
    assert face["emotion"] == max(face["scores"], key=face["scores"].get)
    assert len(face["box"]) == 4 and face["box"][2] > 50

    loaded = json.loads(run([venv / "bin" / "python", "-c", LOAD_FROM_PYTHON], elsewhere, env, 600).stdout)
    assert Path(loaded["file"]).is_relative_to(venv), "emotion_core came from the checkout, not the installed wheel"
    assert loaded["labels"] == list(EMOTIONS) and loaded["models"] == ["default", "student"]
    print(f"wheel built and installed with its dependencies in {installed:.0f} s")
