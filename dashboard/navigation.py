"""The app's pages, in menu order: app.py builds its navigation from this list and the Home page its overview,
so the two cannot drift apart. Plain data, no Streamlit import."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    path: str  # the script, relative to app.py
    title: str  # the menu label
    icon: str  # a Material icon: they ship with Streamlit, so they render offline and without an emoji font
    summary: str  # one line for the Home page's overview
    default: bool = False


PAGES = (
    PageSpec("pages/home.py", "Home / model", ":material/home:", "what the app does and the active model", True),
    PageSpec(
        "pages/photo.py",
        "Photo",
        ":material/photo_camera:",
        "upload photos or take a snapshot; boxes, labels and probabilities per face, downloadable as CSV/JSON",
    ),
    PageSpec("pages/webcam.py", "Live webcam", ":material/videocam:", "the same, frame by frame in the browser"),
    PageSpec(
        "pages/video.py",
        "Video file",
        ":material/movie:",
        "emotions over time in a clip, the dominant one per segment, an annotated copy to download",
    ),
    PageSpec(
        "pages/dataset.py",
        "Dataset explorer",
        ":material/folder_open:",
        "class balance and sample faces of a dataset (FER2013 layout, zip, folder or CSV)",
    ),
    PageSpec(
        "pages/batch.py",
        "Batch",
        ":material/dynamic_feed:",
        "every image and video in a folder or zip, in the background; a table of faces and emotions to download",
    ),
    PageSpec(
        "pages/train.py",
        "Train",
        ":material/model_training:",
        "train a model in the background and watch its curves; finished runs join the model picker",
    ),
    PageSpec(
        "pages/evaluate.py",
        "Evaluate",
        ":material/analytics:",
        "accuracy, per-class precision/recall/F1, confusion matrix and the most confident mistakes",
    ),
    PageSpec(
        "pages/models.py",
        "Models",
        ":material/inventory_2:",
        "every model with its size and accuracy; rename, delete, combine into an ensemble, compare class by class",
    ),
)
