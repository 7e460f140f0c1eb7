"""Background processes the dashboard starts (training runs, batch jobs): one start at a time, and liveness by pid."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (created if needed): serialises check-then-start across sessions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def process_alive(pid: object, marker: bytes) -> bool:
    """Whether ``pid`` still runs a command line containing ``marker``.

    Reaps it if it is our finished child (a zombie until reaped, which kill(pid, 0) would call alive), and
    rejects a recycled pid now running something else.
    """
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: started by another app process or from the command line
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): trust the signal check
    if not cmdline:  # a zombie, or a child caught between fork and exec
        return state != "Z"
    return marker in cmdline
