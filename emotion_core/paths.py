"""Where things are: the shipped model, the bundled sample data, ../shared/data and the runs folder.

The one owner of these locations; everything else asks here. Importing it is cheap (no TensorFlow).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent  # the checkout (for an installed package: site-packages, where no sample data lies)
BUNDLED_MODELS = PACKAGE / "models"  # models that ship in the package, one folder each, by name
DEFAULT_MODEL_DIR = BUNDLED_MODELS / "default"
SAMPLE_DATA = REPO / "sample_data" / "fer2013-sample"
SHARED_DATA = REPO.parent / "shared" / "data"  # ../shared/data beside the repo: FER2013, Yale faces, TCFE
RUNS_ENV = "EMOTION_RUNS"
DATA_ENV = "EMOTION_DATA"


def runs_dir() -> Path:
    """Trained runs go here: $EMOTION_RUNS, else runs/ beside the package (the repo root)."""
    return Path(os.environ.get(RUNS_ENV) or REPO / "runs")


def default_data_path() -> Path:
    """$EMOTION_DATA when set (e.g. the full FER2013 zip), else the small sample committed in the repo."""
    return Path(os.environ.get(DATA_ENV) or SAMPLE_DATA)
