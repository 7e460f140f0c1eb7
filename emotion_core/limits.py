"""The caps that keep one visitor of a shared dashboard from using up the server: one place for their values.

Each cap has a default sized for a small team on a modest machine and an environment variable to change it;
each check raises an error whose one line names the cap, so a page shows it as is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from emotion_core.errors import LimitError, UploadLimitError


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class PhotoLimits:
    """One click of the Photo page: decoding is ~0.1 s of CPU per megapixel, so 100 MP is ~10 s at most."""

    max_files: int = field(default_factory=lambda: int(_env_float("EMOTION_MAX_PHOTOS", 20)))
    max_megapixels: float = field(default_factory=lambda: _env_float("EMOTION_MAX_MEGAPIXELS", 100))

    def check(self, pixels: Sequence[int]) -> None:
        """``pixels``: what each file's header declares. UploadLimitError past either cap, before any decoding."""
        if len(pixels) > self.max_files:
            raise UploadLimitError(f"{len(pixels)} photos at once; at most {self.max_files} per upload")
        total = sum(pixels) / 1e6
        if total > self.max_megapixels:
            raise UploadLimitError(
                f"these photos hold {total:.0f} megapixels; at most {self.max_megapixels:.0f} per upload: "
                "send fewer or smaller photos"
            )


@dataclass(frozen=True)
class VideoLimits:
    """One clip of the Video page, checked from its header before any frame is decoded."""

    max_minutes: float = field(default_factory=lambda: _env_float("EMOTION_MAX_VIDEO_MINUTES", 10))
    max_frames: int = field(default_factory=lambda: int(_env_float("EMOTION_MAX_VIDEO_FRAMES", 30_000)))

    def check(self, frames: int, fps: float) -> None:
        minutes = frames / fps / 60 if fps > 0 else 0.0
        if minutes > self.max_minutes or frames > self.max_frames:
            raise UploadLimitError(
                f"the clip is {minutes:.1f} min ({frames:,} frames); at most {self.max_minutes:g} min and "
                f"{self.max_frames:,} frames: trim it first"
            )


@dataclass(frozen=True)
class JobLimits:
    """Background work at once: per visitor, in all, and the time after which another visitor may take the slot."""

    per_owner: int = 1
    total: int = 1
    budget_s: float = 12 * 3600  # past it, the job is stopped when someone else needs its slot

    def budget_text(self) -> str:
        return f"{self.budget_s / 3600:g} h"


def training_limits() -> JobLimits:
    """One run at a time (a run uses every core); $EMOTION_RUN_HOURS its budget (default 12)."""
    return JobLimits(per_owner=1, total=1, budget_s=_env_float("EMOTION_RUN_HOURS", 12) * 3600)


def batch_limits() -> JobLimits:
    """One batch job per visitor, $EMOTION_BATCH_JOBS_AT_ONCE (default 2) in all, $EMOTION_BATCH_HOURS (2) each."""
    total = max(1, int(_env_float("EMOTION_BATCH_JOBS_AT_ONCE", 2)))
    return JobLimits(per_owner=1, total=total, budget_s=_env_float("EMOTION_BATCH_HOURS", 2) * 3600)


@dataclass(frozen=True)
class RunLimits:
    """What a run started from the dashboard may ask for, and how much the runs folder may hold before a new one."""

    max_epochs: int = field(default_factory=lambda: int(_env_float("EMOTION_MAX_EPOCHS", 200)))
    max_runs_gb: float = field(default_factory=lambda: _env_float("EMOTION_RUNS_MAX_GB", 5))

    def check_epochs(self, epochs: int) -> None:
        if epochs > self.max_epochs:
            raise LimitError(f"{epochs} epochs asked; a run started here may have at most {self.max_epochs}")

    def check_disk(self, used_bytes: int) -> None:
        if used_bytes > self.max_runs_gb * 1e9:
            raise LimitError(
                f"the runs folder holds {used_bytes / 1e9:.1f} GB, past its {self.max_runs_gb:g} GB cap: delete "
                "models on the Models page before starting another run"
            )
