"""Structure that keeps the code cheap to read and to start: light modules stay TensorFlow-free, one owner per
concept (run-folder layout, paths, errors, architecture names), and the installable package carries its model."""

from __future__ import annotations

import importlib.resources
import subprocess
import sys
import time
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from emotion_core import errors, paths
from emotion_core.classify import run_folder
from emotion_core.classify.architectures import ARCHITECTURES, check_architecture
from emotion_core.files import file_version, write_json_atomic
from emotion_core.records import Face
from tests.conftest import REPO

# Modules a drawing helper, a page listing names, or a CLI's --help needs: none may pull in TensorFlow.
LIGHT_MODULES = [
    "emotion_core.classify.architectures",
    "emotion_core.vision.draw",
    "emotion_core.errors",
    "emotion_core.vision.detect",
    "emotion_core.jobs.processes",
    "emotion_core.live.tracking",
    "emotion_core.classify.card",
    "emotion_core.files",
    "emotion_core.labels",
    "emotion_core.paths",
    "emotion_core.records",
    "emotion_core.classify.run_folder",
    "emotion_core.settings",
    "emotion_core.vision.decode",
    "emotion_core.vision.align",
    "emotion_core.classify.views",
    "emotion_core.classify.registry",
    "emotion_core.data.access",
    "emotion_core.data.summary",
    "emotion_core.data.datasets",
    "emotion_core.serve.photos",
    "emotion_core.live.video",
    "emotion_core.serve.cli",
    "train.config",
    "train.launcher",
    "train.models",
    "train.cli",
]

CHECK_IMPORTS = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    heavy = [m for m in ("tensorflow", "keras") if m in sys.modules]
    if heavy:
        sys.exit(f"importing {name} loaded {', '.join(heavy)}")
"""


@pytest.mark.slow  # a fresh interpreter: the test process has long since loaded TensorFlow
def test_light_modules_import_no_tensorflow():
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CHECK_IMPORTS, *LIGHT_MODULES], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
    assert time.monotonic() - started < 30  # TensorFlow alone takes several seconds; these take about one


# Every library module, named from the file tree (importing a package to walk it would import it before the
# snapshot). Third-party packages they import go first: cv2 sets LD_LIBRARY_PATH and TensorFlow TF2_BEHAVIOR and
# others on import, which is theirs; a variable any emotion_core module sets is hidden global state.
CHECK_ENVIRON = """
import ast, importlib, os, sys
from pathlib import Path
sources = sorted(p for p in Path("emotion_core").rglob("*.py") if p.stem != "__main__")  # __main__ runs the CLI
third_party = set()
for source in sources:
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            third_party |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            third_party.add(node.module.split(".")[0])
for name in sorted(third_party - set(sys.stdlib_module_names) - {"emotion_core", "__future__"}):
    try:
        importlib.import_module(name)
    except ImportError:
        pass  # an optional package (ray) not installed here: the module that needs it imports it lazily
changed = []
for source in sources:
    name = ".".join(source.with_suffix("").parts).removesuffix(".__init__")
    before = dict(os.environ)
    importlib.import_module(name)
    after = dict(os.environ)
    changed += [f"{name}: {key}" for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
print(len(sources))
sys.exit(f"importing changed os.environ: {changed}" if changed else 0)
"""


@pytest.mark.slow  # a fresh interpreter that imports every module, TensorFlow included
def test_importing_any_library_module_leaves_the_environment_unchanged():
    """Process-wide settings belong to entry points (emotion_core.settings), never to an import."""
    done = subprocess.run([sys.executable, "-c", CHECK_ENVIRON], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
    assert int(done.stdout.split()[-1]) >= 50  # every module was imported, not a handful


def test_face_row_is_the_flat_csv_shape():
    face = Face((1, 2, 30, 40), {"happy": 0.75, "sad": 0.25})
    assert face.to_row() == {"x": 1, "y": 2, "w": 30, "h": 40, "emotion": "happy", "happy": 0.75, "sad": 0.25}


def test_every_architecture_name_has_a_builder():
    from emotion_core.classify.architectures import builder

    assert all(callable(builder(name)) for name in ARCHITECTURES)
    with pytest.raises(errors.UnknownArchitectureError, match="choose one of vgg, tiny"):
        check_architecture("resnet")


def test_new_run_dirs_follow_the_naming_rule_and_never_clash(tmp_path):
    first = run_folder.new_run_dir(tmp_path, "tiny")
    first.mkdir()
    second = run_folder.new_run_dir(tmp_path, "tiny")
    assert first.name.startswith("tiny-") and len(first.name) == len("tiny-YYYYmmdd-HHMMSS")
    assert second.name in {f"{first.name}-2", run_folder.run_name("tiny")}  # the clock may have ticked


def test_a_model_folder_needs_both_files(tmp_path):
    (tmp_path / run_folder.MODEL_FILE).write_bytes(b"stub")
    assert not run_folder.is_model_folder(tmp_path)
    write_json_atomic(tmp_path / run_folder.METADATA_FILE, {"labels": ["happy"]})
    assert run_folder.is_model_folder(tmp_path)


def test_file_version_changes_with_the_file_and_is_zero_when_missing(tmp_path):
    path = tmp_path / "data.zip"
    assert file_version(path) == 0.0
    path.write_bytes(b"x")
    assert file_version(path) == path.stat().st_mtime > 0


def test_shared_data_lies_beside_the_repo():
    assert paths.SHARED_DATA == REPO.parent / "shared" / "data"
    assert paths.SAMPLE_DATA.is_dir()


def test_every_error_type_derives_from_emotion_core_error():

    for error in (errors.DataPathNotAllowedError, errors.LaunchError, errors.ModelActionError):
        assert error.__module__ == "emotion_core.errors" and issubclass(error, errors.EmotionCoreError)
    defined = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert all(issubclass(error, errors.EmotionCoreError) for error in defined)


def test_the_package_ships_its_models():
    """pyproject's package-data glob covers every file of the shipped models, and the installed layout finds them."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["emotion_core"]
    models = importlib.resources.files("emotion_core") / "models"
    files = [Path(str(p)).relative_to(REPO / "emotion_core").as_posix() for m in models.iterdir() for p in m.iterdir()]
    for name in ("default", "student"):
        assert {f"models/{name}/model.keras", f"models/{name}/metadata.json"} <= set(files)
    assert all(any(fnmatch(f, g) for g in globs) for f in files)
    assert Path(str(models / "default")) == paths.DEFAULT_MODEL_DIR


def test_console_scripts_point_at_the_clis():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    from emotion_core.serve.cli import cli as emotion
    from train.cli import cli as emotion_train

    assert scripts == {"emotion": "emotion_core.serve.cli:cli", "emotion-train": "train.cli:cli"}
    assert callable(emotion) and callable(emotion_train)


def test_the_student_network_is_small_and_answers_every_class():
    import numpy as np

    from emotion_core.classify.network import build_model

    model = build_model("student", 7)
    assert model.count_params() < 200_000  # the VGG has 1.77M: the student is meant for CPUs
    probabilities = np.asarray(model(np.zeros((2, 48, 48, 1), np.float32), training=False))
    assert probabilities.shape == (2, 7) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
