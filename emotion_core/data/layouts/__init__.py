"""The dataset layouts the reader knows. Adding one: a module here with ``NAME``, ``accepts(path)`` and
``open(path) -> Listing`` (see ``base``), and a line in ``LAYOUTS``."""

from __future__ import annotations

from emotion_core.data.layouts import fer_csv, folder, zip_archive

LAYOUTS = [
    folder,  # <split>/<class>/<image> in a folder tree
    zip_archive,  # the same inside a .zip
    fer_csv,  # fer2013.csv: emotion,pixels[,Usage]
]
