"""Hostile inputs: zip-slip names, zip bombs, lying and encrypted members, broken and pixel-bomb images in a
dataset that still trains, malformed fer2013.csv rows, and uploads whose names never become paths."""

from __future__ import annotations

import ast
import io
import logging
import struct
import tomllib
import zipfile
from pathlib import Path

import pytest

from emotion_core.data.datasets import open_dataset
from emotion_core.data.layouts.zip_archive import read_member
from emotion_core.errors import DatasetLayoutError, InvalidImageError
from tests.conftest import REPO, make_dataset_files, write_zip
from tests.test_io import png_claiming

APP_SOURCES = [REPO / "app.py", *sorted((REPO / "pages").glob("*.py"))]
CORE_SOURCES = [*sorted((REPO / "emotion_core").rglob("*.py")), *sorted((REPO / "train").rglob("*.py"))]


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_zip_slip_names_are_never_listed_and_nothing_is_written(tmp_path):
    files = make_dataset_files({"happy": 2}, splits=("train",))
    face = next(iter(files.values()))
    hostile = ["../../escape.jpg", "/abs/train/happy/x.jpg", "train/happy/../../../up.jpg", "C:/train/happy/w.jpg"]
    path = write_zip(tmp_path / "slip.zip", {**files, **{name: face for name in hostile}})
    with zipfile.ZipFile(path) as archive:
        assert set(hostile) <= set(archive.namelist()), "the names really are in the archive"
    before = files_under(tmp_path.parent)

    dataset = open_dataset(path)
    x, _, bad = dataset.load(dataset.split_samples("train"), dataset.classes)

    assert dataset.splits == ["train"] and dataset.classes == ["happy"] and len(x) == 2 and bad == []
    assert sorted(ref for ref, _ in dataset.rejected) == sorted(hostile)
    assert files_under(tmp_path.parent) == before, "reading a dataset zip writes nothing"


@pytest.mark.parametrize("sources", [APP_SOURCES + CORE_SOURCES], ids=["app-core-train"])
def test_no_code_extracts_an_archive(sources):
    """Datasets read members in memory; extracting would need zip-slip guards that nothing here has to have."""
    for source in sources:
        text = source.read_text()
        for forbidden in ("extractall(", ".extract(", "unpack_archive(", "tarfile"):
            assert forbidden not in text, f"{source.name} uses {forbidden}"


def test_zip_declaring_too_much_in_total_is_refused_at_open(tmp_path, monkeypatch):
    import emotion_core.data.layouts.zip_archive as zip_archive

    files = make_dataset_files({"happy": 2}, splits=("train",))
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for i in range(4):  # each under MAX_IMAGE_BYTES: only the total gives them away
            archive.writestr(f"train/happy/zeros{i}.jpg", b"\0" * 1_000_000)
    monkeypatch.setattr(zip_archive, "MAX_ARCHIVE_BYTES", 3_000_000)
    with pytest.raises(DatasetLayoutError, match="declares 4,0.* bytes uncompressed, over the 3,000,000"):
        open_dataset(path)

    monkeypatch.setattr(zip_archive, "MAX_ARCHIVE_BYTES", 10**12)
    monkeypatch.setattr(zip_archive, "RATIO_CHECK_FROM_BYTES", 1_000_000)
    with pytest.raises(DatasetLayoutError, match=r"would inflate \d.*x .* over the 100x allowed"):
        open_dataset(path)


def patch_sizes(data: bytes, member: int, size: int, local_too: bool = False) -> bytes:
    """Rewrite the uncompressed size of the ``member``-th entry (central directory, optionally local header)."""
    data = bytearray(data)
    for signature, offset, wanted in ((b"PK\x01\x02", 24, True), (b"PK\x03\x04", 22, local_too)):
        at = -1
        for _ in range(member + 1):
            at = data.find(signature, at + 1)
        if wanted:
            struct.pack_into("<I", data, at + offset, size)
    return bytes(data)


def test_gigabyte_declarations_are_refused_with_the_real_limits(tmp_path):
    files = make_dataset_files({"happy": 2}, splits=("train",))
    raw = write_zip(tmp_path / "d.zip", files).read_bytes()
    for member in range(2):  # two members claiming ~4 GiB each: the Fifield overlapping-bomb shape, from its header
        raw = patch_sizes(raw, member, 0xFFFFFF00)
    (tmp_path / "d.zip").write_bytes(raw)
    with pytest.raises(DatasetLayoutError, match="zip bomb"):
        open_dataset(tmp_path / "d.zip")


def test_a_member_lying_about_its_size_or_encrypted_is_one_bad_file(tmp_path):
    files = make_dataset_files({"happy": 3}, splits=("train",))
    raw = write_zip(tmp_path / "d.zip", files).read_bytes()
    (tmp_path / "d.zip").write_bytes(patch_sizes(raw, 0, 100, local_too=True))  # claims 100 bytes, holds more
    dataset = open_dataset(tmp_path / "d.zip")
    with zipfile.ZipFile(tmp_path / "d.zip") as archive:
        with pytest.raises(InvalidImageError, match="corrupt zip member"):
            read_member(archive, "train/happy/000.jpg")  # zipfile stops at the declared size; the CRC then fails
    x, _, bad = dataset.load(dataset.split_samples("train"), dataset.classes)
    assert len(x) == 2 and [ref for ref, _ in bad] == ["train/happy/000.jpg"]

    raw = bytearray(write_zip(tmp_path / "e.zip", files).read_bytes())
    for signature, offset in ((b"PK\x01\x02", 8), (b"PK\x03\x04", 6)):  # set the 'encrypted' flag bit
        at = raw.find(signature)
        raw[at + offset] |= 1
    (tmp_path / "e.zip").write_bytes(bytes(raw))
    dataset = open_dataset(tmp_path / "e.zip")
    x, _, bad = dataset.load(dataset.split_samples("train"), dataset.classes)
    assert len(x) == 2 and "cannot read zip member" in bad[0][1]


def hostile_images() -> dict[str, bytes]:
    return {
        "corrupt.jpg": make_dataset_files({"happy": 1}, splits=("x",))["x/happy/000.jpg"][:200],
        "empty.png": b"",
        "notes.jpg": b"these are my notes, not a face",
        "bomb.png": png_claiming(60000, 60000),  # 3.6 gigapixels claimed by a 100-byte file
    }


def test_a_dataset_with_broken_and_pixel_bomb_images_trains_and_evaluates_on_the_rest(tmp_path, caplog):
    from train.config import TrainConfig
    from train.evaluate import evaluate
    from train.fit import fit

    files = make_dataset_files({"happy": 4, "sad": 4})
    for split in ("train", "test"):
        files |= {f"{split}/sad/{name}": data for name, data in hostile_images().items()}
    path = write_zip(tmp_path / "hostile.zip", files)

    caplog.set_level(logging.INFO, logger="train")  # fit's progress lines (the CLI prints them)
    config = TrainConfig(data=str(path), architecture="tiny", epochs=1, batch_size=4, val_split="test")
    run = fit(config, tmp_path / "run")  # validating on test: fit reads (and reports) both splits
    out = caplog.text
    for split in ("train", "test"):
        for name in hostile_images():
            assert f"skipped {split}/sad/{name}: " in out
    assert "skipped train/sad/bomb.png: image claims more pixels than the 40,000,000 allowed" in out
    report = evaluate(path, "test", run)
    assert report["n"] == 8
    assert sorted(report["skipped"]["unreadable"]) == sorted(f"test/sad/{name}" for name in hostile_images())


def test_malformed_csv_rows_are_reported_by_line_and_the_rest_used(tmp_path):
    good = " ".join(["10"] * 48 * 48)
    lines = [
        "emotion,pixels,Usage",
        f"3,{good},Training",  # 2
        f"4,{good},Training,surplus",  # 3: four fields
        f"happy,{good},Training",  # 4: a class name is fine
        f"banana,{good},Training",  # 5: not an emotion
        f"9,{good},Training",  # 6: out of range
        f",{good},Training",  # 7: empty emotion
        f"0,{good}",  # 8: no Usage
        "",  # 9: blank
        "2,1 2 x 4,Training",  # 10: non-numeric pixels
        f"6,{good},PublicTest",  # 11: still line 11 after the skipped ones
    ]
    path = tmp_path / "fer2013.csv"
    path.write_text("\n".join(lines) + "\n")
    dataset = open_dataset(path)
    rejected = dict(dataset.rejected)
    assert sorted(map(int, rejected)) == [3, 5, 6, 7, 8, 9]
    assert "expected 3 fields, saw 4" in rejected["3"] and "'banana'" in rejected["5"]
    assert all(reason.startswith(f"CSV line {line}:") for line, reason in dataset.rejected)
    assert dataset.classes == ["fear", "happy", "neutral"] and dataset.splits == ["train", "test"]
    x, _, bad = dataset.load(dataset.split_samples("train"), dataset.classes)
    assert len(x) == 2 and [ref for ref, _ in bad] == ["10"] and "CSV line 10" in bad[0][1]
    assert [s.ref for s in dataset.split_samples("test")] == ["11"]


def test_upload_limit_is_set_in_the_app_config():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert 1 <= config["server"]["maxUploadSize"] <= 50


PATH_CALLS = {
    "open",
    "Path",
    "PurePath",
    "join",
    "write_bytes",
    "write_text",
    "NamedTemporaryFile",
    "mkdir",
    "copyfile",
    "copy",
    "move",
    "rename",
    "replace",
    "unlink",
    "remove",
    "makedirs",
    "extract",
    "store_upload",
}


def upload_name_paths(source: str) -> list[int]:
    """Lines where a user's upload file name (``x.name`` of a file_uploader/camera_input value, or of a parameter
    named like an upload) is passed to something that makes or opens a path. ``Path(upload.name).suffix`` alone
    is let through: the extension, not the name (a page must still check it against its allowed list)."""
    tree = ast.parse(source)
    tainted = {
        arg.arg
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        for arg in node.args.args
        if "upload" in arg.arg or "snapshot" in arg.arg
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            if getattr(node.value.func, "attr", "") in ("file_uploader", "camera_input"):
                tainted |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for node in ast.walk(tree):  # for upload in uploads or []:
        if isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Name):
            if any(isinstance(n, ast.Name) and n.id in tainted for n in ast.walk(node.iter)):
                tainted.add(node.target.id)
    suffix_only = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "suffix"}
    found = []
    for node in ast.walk(tree):
        is_path_call = (
            isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in PATH_CALLS
        )
        is_join = isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
        if (is_path_call and id(node) not in suffix_only) or is_join:
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Attribute)
                    and inner.attr == "name"
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id in tainted
                ):
                    found.append(node.lineno)
    return found


@pytest.mark.parametrize(
    "snippet, flagged",
    [
        ("up = st.file_uploader('x')\nopen(up.name, 'wb')", True),
        ("ups = st.file_uploader('x')\nfor u in ups or []:\n    target = DIR / u.name", True),
        ("def save(upload):\n    Path(tmp, upload.name).write_bytes(upload.getvalue())", True),
        ("up = st.file_uploader('x')\nsuffix = Path(up.name).suffix", False),
        ("up = st.file_uploader('x')\nfiles = [(up.name, up.getvalue())]", False),
    ],
)
def test_the_upload_name_check_itself(snippet, flagged):
    assert bool(upload_name_paths(snippet)) is flagged


def test_no_page_makes_a_path_from_an_upload_name():
    """Uploads reach disk under generated names (explore.store_upload: a content hash); the user's file name is a
    caption and a key in the results, never a path."""
    for source in APP_SOURCES:
        assert upload_name_paths(source.read_text()) == [], f"{source.name} builds a path from an upload's name"


def test_a_hostile_upload_name_is_only_a_label(tmp_path, monkeypatch):
    from emotion_core.serve.photos import analyse_photo
    from emotion_core.storage import OwnerStore
    from tests.test_live import scripted_predictor

    monkeypatch.chdir(tmp_path)
    store = OwnerStore("visitor", root=tmp_path / "private")
    stored = store.put(b"PK\x05\x06" + b"\0" * 18, ".zip")
    assert stored.parent == store.folder and len(stored.stem) == 24 and set(stored.stem) <= set("0123456789abcdef")

    before = files_under(tmp_path)
    name = "../../../../tmp/owned.jpg"
    result = analyse_photo(scripted_predictor({"happy": 1.0}), name, io.BytesIO(b"not an image").getvalue())
    assert result.name == name and "not an image" in result.error
    assert files_under(tmp_path) == before and not Path("/tmp/owned.jpg").exists()


def test_the_dataset_page_lists_rows_left_out(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    pixels = " ".join(["10"] * 48 * 48)
    path = tmp_path / "fer2013.csv"
    path.write_text(f"emotion,pixels,Usage\n3,{pixels},Training\nbanana,{pixels},Training\n4,{pixels},Training,x\n")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["data_path"] = str(path)
    at.switch_page("pages/dataset.py").run()
    assert not at.exception, at.exception
    assert "2 entries left out of the listing" in [e.label for e in at.expander]
    left_out = next(d.value for d in at.dataframe if list(d.value.columns) == ["entry", "problem"])
    assert list(left_out["entry"]) == ["3", "4"] and "banana" in left_out["problem"][0]


def test_a_tiny_file_of_many_pixels_is_decoded_but_not_kept_at_full_size():
    """A 40 kB PNG of 6000x4000 zeros passes the 40-megapixel guard; the Photo page caches its result, so the
    annotated copy is kept at display size (boxes stay in the original's pixels)."""
    from PIL import Image

    from emotion_core.serve.photos import DISPLAY_MAX_SIDE, analyse_photo
    from tests.test_live import scripted_predictor

    buffer = io.BytesIO()
    Image.new("L", (6000, 4000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 100_000
    result = analyse_photo(scripted_predictor({"happy": 1.0}), "flat.png", buffer.getvalue())
    assert result.error is None and result.faces == []
    assert result.annotated.shape == (DISPLAY_MAX_SIDE * 4000 // 6000, DISPLAY_MAX_SIDE, 3)


def test_stored_uploads_are_bounded_in_number(tmp_path):
    from emotion_core.storage import OwnerLimits, OwnerStore

    store = OwnerStore("visitor", OwnerLimits(max_files=3), root=tmp_path)
    first = store.put(b"zip 0")
    for i in range(1, 6):
        newest = store.put(f"zip {i}".encode())
        if i == 3:
            store.put(b"zip 0")  # used again: among the most recent
    kept = sorted(p.name for p in store.folder.iterdir())
    assert len(kept) == 3 and newest.name in kept and first.name in kept
