"""Model registry management: list, rename, delete, compare; refusals for clashes, 'default' and live runs."""

import json
import shutil
import subprocess
import sys

import pytest

from emotion_core.actors import SHELL
from emotion_core.classify.registry import list_models
from emotion_core.errors import ModelActionError, ModelNotFoundError
from tests.conftest import REPO
from train.models import compare_models, delete_model, model_table, rename_model


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "train", "models", *args], cwd=REPO, capture_output=True, text=True)


def test_table_lists_every_model_with_size(runs):
    table = model_table()
    assert list(table["model"]) == ["default", "student", "alpha", "beta"]  # shipped first, then runs
    assert {"accuracy", "created", "architecture", "size_mb"} <= set(table.columns)
    assert (table["size_mb"] > 0).all()


def test_rename_moves_the_folder_and_the_metadata_name(runs):
    target = rename_model("alpha", "gamma_2", SHELL)
    assert target == runs / "gamma_2" and not (runs / "alpha").exists()
    assert json.loads((target / "metadata.json").read_text())["name"] == "gamma_2"
    assert list(list_models()) == ["default", "student", "beta", "gamma_2"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("alpha", "beta", "already exists"),
        ("alpha", "default", "already exists"),
        ("alpha", "../escape", "not a valid model name"),
        ("alpha", "", "not a valid model name"),
        ("default", "mine", "shipped with the app"),
    ],
)
def test_rename_refusals(runs, old, new, message):
    with pytest.raises(ModelActionError, match=message):
        rename_model(old, new, SHELL)
    assert set(list_models()) == {"default", "student", "alpha", "beta"}


def test_delete_removes_the_run_and_refuses_default_and_unknown(runs):
    delete_model("beta", SHELL)
    assert not (runs / "beta").exists() and list(runs.iterdir()) == [runs / "alpha"]
    with pytest.raises(ModelActionError, match="'default' is a model shipped"):
        delete_model("default", SHELL)
    with pytest.raises(ModelNotFoundError, match="no model 'beta'"):
        delete_model("beta", SHELL)


def test_a_run_in_progress_is_neither_renamed_nor_deleted(runs):
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "train"])
    try:
        (runs / "alpha" / "state.json").write_text(
            json.dumps({"status": "running", "epoch": 1, "epochs": 3, "pid": trainer.pid})
        )
        with pytest.raises(ModelActionError, match="cancel the run or wait"):
            delete_model("alpha", SHELL)
        with pytest.raises(ModelActionError, match="cancel the run or wait"):
            rename_model("alpha", "other", SHELL)
    finally:
        trainer.kill()
        trainer.wait()
    assert (runs / "alpha" / "model.keras").is_file()


def test_a_model_outside_the_runs_folder_is_not_deleted(runs, tmp_path):
    outside = shutil.copytree(runs / "alpha", tmp_path / "elsewhere")
    shutil.rmtree(runs / "alpha")
    (runs / "alpha").symlink_to(outside)
    with pytest.raises(ModelActionError, match="outside the runs folder"):
        delete_model("alpha", SHELL)
    assert (outside / "model.keras").is_file()


def test_compare_gives_per_class_recall_for_each_model(runs, tiny_zip):
    frame = compare_models(["alpha", "beta"], tiny_zip, "test")
    assert list(frame["model"].unique()) == ["alpha", "beta"]
    assert list(frame[frame["model"] == "alpha"]["class"]) == ["angry", "happy", "sad", "neutral"]
    alpha, beta = (frame[frame["model"] == m].reset_index(drop=True) for m in ("alpha", "beta"))
    assert alpha[["recall", "f1"]].equals(beta[["recall", "f1"]])  # the same weights score the same


def test_cli_lists_renames_and_deletes_only_with_yes(runs):
    listing = cli()
    assert listing.returncode == 0 and "alpha" in listing.stdout and "size_mb" in listing.stdout
    assert cli("rename", "alpha", "first").returncode == 0 and (runs / "first").is_dir()
    clash = cli("rename", "first", "beta")
    assert clash.returncode == 2 and clash.stderr.strip().splitlines()[-1].startswith(
        "error: a model or run named 'beta'"
    )
    unconfirmed = cli("delete", "first")
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr and (runs / "first").is_dir()
    assert cli("delete", "first", "--yes").returncode == 0 and not (runs / "first").exists()
    refused = cli("delete", "default", "--yes")
    assert refused.returncode == 2 and "shipped with the app" in refused.stderr


def test_loading_a_model_resolves_its_name_once(runs, monkeypatch):
    import emotion_core
    from emotion_core.classify import registry

    scans = []
    real = registry.list_models
    monkeypatch.setattr(registry, "list_models", lambda: scans.append(1) or real())
    predictor = emotion_core.load("alpha")
    assert predictor.card.name and len(scans) == 1


def test_every_model_shipped_in_the_package_is_listed_and_protected(runs, random_tiny_run, tmp_path, monkeypatch):
    from emotion_core.classify import registry

    shipped = tmp_path / "package-models"
    shutil.copytree(random_tiny_run, shipped / "student")
    (shipped / "notes").mkdir()  # not a model folder: not listed
    monkeypatch.setattr(registry, "BUNDLED_MODELS", shipped)
    shutil.copytree(random_tiny_run, runs / "student")  # a run cannot shadow a shipped name
    models = list_models()
    assert list(models)[:2] == ["default", "student"] and models["student"] == shipped / "student"
    assert "notes" not in models and {"alpha", "beta"} <= set(models)
    with pytest.raises(ModelActionError, match="'student' is a model shipped"):
        delete_model("student", SHELL)
    assert (shipped / "student" / "model.keras").exists()
