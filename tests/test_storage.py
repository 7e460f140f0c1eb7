"""Private storage for uploads and caches: a folder another local user made first (a symlink, a folder open to
all) is never used, each owner's uploads are capped, and idle owners are cleared."""

from __future__ import annotations

import os
import stat
import time

import pytest

from emotion_core.errors import UnsafeFolderError, UploadLimitError
from emotion_core.storage import OwnerLimits, OwnerStore, expire_idle, private_folder, server_root, user_cache


def test_the_server_root_is_a_fresh_private_folder():
    root = server_root()
    info = os.lstat(root)
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o777 == 0o700
    assert root.name.startswith("emotion-") and root.name != "emotion-uploads"


def test_a_symlink_planted_where_a_folder_goes_is_refused(tmp_path):
    victim = tmp_path / "victims-files"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    (tmp_path / "cache").symlink_to(victim, target_is_directory=True)
    with pytest.raises(UnsafeFolderError, match="not a plain folder"):
        private_folder(tmp_path / "cache")
    assert (victim / "keep.txt").read_text() == "mine"


def test_a_folder_others_may_enter_is_refused(tmp_path):
    shared = tmp_path / "open"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UnsafeFolderError, match="may enter it"):
        private_folder(shared)


def test_a_folder_of_another_user_is_refused(tmp_path):
    if os.getuid() != 0:
        pytest.skip("only root can make a folder owned by another user")
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)  # nobody
    with pytest.raises(UnsafeFolderError, match="another user owns it"):
        private_folder(theirs)


def test_the_user_cache_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = user_cache("face-crops")
    assert folder == tmp_path / "xdg" / "emotion-dashboard" / "face-crops"
    assert os.lstat(folder).st_mode & 0o077 == 0


def test_owners_are_apart_and_an_upload_past_the_cap_is_refused(tmp_path):
    alice = OwnerStore("alice", OwnerLimits(max_bytes=1000), root=tmp_path)
    bob = OwnerStore("bob", root=tmp_path)
    stored = alice.put(b"x" * 10)
    assert alice.owns(stored) and not bob.owns(stored) and alice.folder != bob.folder
    with pytest.raises(UploadLimitError, match="at most 0 MB"):
        alice.put(b"x" * 1001)


def test_idle_owners_lose_their_uploads(tmp_path):
    alice, bob = OwnerStore("alice", root=tmp_path), OwnerStore("bob", root=tmp_path)
    old = alice.put(b"old")
    long_ago = time.time() - 7 * 3600
    os.utime(alice.folder, (long_ago, long_ago))
    bob.put(b"new")  # any upload clears owners idle past the limit (six hours by default)
    assert not old.exists() and not alice.folder.exists()
    expire_idle(bob.parent, 0, keep=bob.folder)
    assert bob.folder.exists()
