"""What a server process holds: resident memory and spooled uploads (temporary files it keeps open), from /proc.

Shared by benchmarks/api_abuse.py and the API's stalled-upload test.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident memory and bytes of temporary files held open by ``pid``, in MB."""
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").open() if line.startswith("VmRSS:"))
    spooled = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
            if target.endswith("(deleted)") or target.startswith(tempfile.gettempdir()):
                spooled += fd.stat().st_size
        except OSError:
            continue
    return round(rss / 1024, 1), round(spooled / 2**20, 1)
