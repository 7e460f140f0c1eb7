import zipfile

import numpy as np
import pytest

from emotion_core.data.datasets import open_dataset
from emotion_core.errors import DatasetLayoutError
from emotion_core.labels import canonical_label, ordered_labels
from tests.conftest import make_dataset_files, write_folder, write_zip

CLASSES = {"anger": 3, "happiness": 2, "surprised": 4}


def test_zip_and_folder_give_the_same_counts_with_aliases(tmp_path):
    files = make_dataset_files(CLASSES)
    for dataset in (
        open_dataset(write_zip(tmp_path / "d.zip", files)),
        open_dataset(write_folder(tmp_path / "d", files)),
    ):
        assert dataset.splits == ["train", "test"]
        assert dataset.classes == ["angry", "happy", "surprise"]
        counts = dataset.counts()
        assert counts.loc["angry", "train"] == 3 and counts.loc["surprise", "test"] == 4
        x, y, bad = dataset.load(dataset.split_samples("train"), dataset.classes)
        assert x.shape == (9, 48, 48, 1) and bad == []
        assert list(np.bincount(y)) == [3, 2, 4]


def test_wrapper_folder_in_zip_is_stripped(tmp_path):
    files = {f"fer2013/{k}": v for k, v in make_dataset_files({"sad": 2}).items()}
    dataset = open_dataset(write_zip(tmp_path / "wrapped.zip", files))
    assert dataset.splits == ["train", "test"] and dataset.classes == ["sad"]


def test_corrupt_images_are_reported_and_the_rest_loaded(tmp_path):
    files = make_dataset_files({"happy": 3}, splits=("train",))
    files["train/happy/broken.jpg"] = b"not a jpeg"
    files["train/happy/empty.png"] = b""
    dataset = open_dataset(write_zip(tmp_path / "d.zip", files))
    x, y, bad = dataset.load(dataset.split_samples("train"), dataset.classes)
    assert len(x) == 3
    assert sorted(ref for ref, _ in bad) == ["train/happy/broken.jpg", "train/happy/empty.png"]


def test_fer2013_csv(tmp_path):
    pixels = " ".join(["10"] * 48 * 48)
    rows = [f"3,{pixels},Training", f"0,{pixels},PublicTest", f"6,{pixels},PrivateTest", "4,1 2 3,Training"]
    path = tmp_path / "fer2013.csv"
    path.write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    dataset = open_dataset(path)
    assert dataset.splits == ["train", "test", "private_test"]
    assert dataset.counts().loc["happy", "train"] == 1
    x, y, bad = dataset.load(dataset.split_samples("train"), dataset.classes)
    assert len(x) == 1 and (x == 10).all()
    assert len(bad) == 1 and bad[0][0] == "5" and "line 5" in bad[0][1]  # the malformed row, by line number


@pytest.mark.parametrize(
    "files, message",
    [
        ({"happy/001.jpg": b"x", "sad/002.jpg": b"x"}, "deep"),
        ({"happy/train/001.jpg": b"x", "sad/train/002.jpg": b"x"}, "class folders"),
        ({"readme.txt": b"hello"}, "no images"),
    ],
    ids=["no-split-level", "class-above-split", "no-images"],
)
def test_wrong_layouts_give_clear_errors(tmp_path, files, message):
    with pytest.raises(DatasetLayoutError, match=message) as error:
        open_dataset(write_zip(tmp_path / "bad.zip", files))
    assert "<split>/<class>/<image>" in str(error.value)


def test_not_a_zip_not_a_csv_and_missing(tmp_path):
    (tmp_path / "fake.zip").write_bytes(b"nope")
    with pytest.raises(DatasetLayoutError, match="not a valid zip"):
        open_dataset(tmp_path / "fake.zip")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DatasetLayoutError, match="emotion,pixels"):
        open_dataset(tmp_path / "other.csv")
    with pytest.raises(DatasetLayoutError, match="no such"):
        open_dataset(tmp_path / "missing")


def test_unknown_split_lists_the_known_ones(tmp_path):
    dataset = open_dataset(write_zip(tmp_path / "d.zip", make_dataset_files({"fear": 1})))
    with pytest.raises(DatasetLayoutError, match="train, test"):
        dataset.split_samples("validation")


def test_labels_and_aliases():
    assert canonical_label("Sadness") == "sad" and canonical_label("surprised") == "surprise"
    assert canonical_label("contempt") == "contempt"
    assert ordered_labels({"neutral", "contempt", "angry"}) == ["angry", "neutral", "contempt"]


def test_real_fer2013_zip_counts_without_decoding():
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "fer2013" / "fer2013.zip"
    if not path.exists():
        pytest.skip(f"{path} not present")
    counts = open_dataset(path).counts()
    assert counts["train"].sum() == 28709 and counts["test"].sum() == 3589
    assert counts.loc["disgust", "train"] == 436
    with zipfile.ZipFile(path) as archive:
        assert len([n for n in archive.namelist() if n.endswith(".jpg")]) == 28709 + 3589


def test_zip_bomb_member_is_refused_before_inflating(tmp_path, monkeypatch):
    import emotion_core.data.layouts.base as layouts_base

    monkeypatch.setattr(layouts_base, "MAX_IMAGE_BYTES", 1_000_000)  # keep the bomb small enough to build in a test
    files = make_dataset_files({"happy": 2}, splits=("train",))
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("train/happy/bomb.jpg", b"\0" * 5_000_000)  # 5 MB of zeros deflate to ~5 kB
    dataset = open_dataset(path)
    x, y, bad = dataset.load(dataset.split_samples("train"), dataset.classes)
    assert len(x) == 2 and bad[0][0] == "train/happy/bomb.jpg" and "over the 1,000,000 allowed" in bad[0][1]


def test_a_registered_layout_is_opened_by_name(tmp_path, monkeypatch):
    """Adding a dataset layout is a module plus one line in LAYOUTS: open_dataset asks each in turn."""
    from types import SimpleNamespace

    from emotion_core.data import datasets, layouts
    from emotion_core.data.layouts.base import Listing, Sample
    from emotion_core.data.layouts.fer_csv import CsvSource

    pixels = " ".join(["128"] * 48 * 48)
    custom = SimpleNamespace(
        NAME="lines",
        accepts=lambda path: path.suffix == ".lines",
        open=lambda path: Listing([Sample("train", "happy", "1")], CsvSource({"1": pixels}), crops_only=True),
    )
    monkeypatch.setattr(layouts, "LAYOUTS", [*layouts.LAYOUTS, custom])
    monkeypatch.setattr(datasets, "LAYOUTS", layouts.LAYOUTS)
    path = tmp_path / "faces.lines"
    path.write_text("anything")
    dataset = datasets.open_dataset(path)
    assert dataset.kind == "lines" and dataset.classes == ["happy"]
    assert dataset.read_image(dataset.samples[0]).shape == (48, 48)
    assert dataset.choose_faces().mode == "crops"
    (tmp_path / "faces.txt").write_text("no layout takes this")
    with pytest.raises(DatasetLayoutError, match="none of the dataset layouts known .folder, zip, csv, lines"):
        datasets.open_dataset(tmp_path / "faces.txt")
