"""Specific errors with one-line messages; callers show ``str(error)`` to the user."""

import re


def first_line(error: BaseException, limit: int = 200) -> str:
    """An exception as one short line: library errors can span pages (Keras quotes whole configs)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class EmotionCoreError(Exception):
    """Base class: everything the core raises on bad input derives from it."""


class InvalidImageError(EmotionCoreError):
    """The bytes are not a decodable image (empty, truncated, not an image at all)."""


class ImageTooLargeError(InvalidImageError):
    """The image claims more pixels than we agree to decode (decompression-bomb guard)."""


class DatasetLayoutError(EmotionCoreError):
    """A dataset path is not laid out as <split>/<class>/<image> nor a fer2013.csv."""


class ModelLoadError(EmotionCoreError):
    """This model cannot be loaded: missing, or a truncated/invalid model file or metadata.json.

    The one type the pages catch for "this model cannot be loaded"; the message says which file and why.
    """


class ModelNotFoundError(ModelLoadError):
    """No model under the given name or path; the message lists the available ones."""


class InvalidVideoError(EmotionCoreError):
    """A video file is missing, empty, broken or in a format OpenCV's FFmpeg cannot read (or write)."""


class DataPathNotAllowedError(EmotionCoreError):
    """A dataset path outside the allowed roots; the message says how to allow it ($EMOTION_DATA_ROOTS)."""


class UnknownArchitectureError(EmotionCoreError, ValueError):
    """An architecture name that emotion_core.classify.network cannot build; the message lists those it can.

    Also a ValueError: it is a bad configuration value, caught as such by TrainConfig's callers.
    """


class ModelActionError(EmotionCoreError):
    """A rename or delete that must not happen (bad name, clash, the shipped model, a run in progress)."""


class LaunchError(EmotionCoreError):
    """A training run cannot start (bad config or data, or another run is going); the message says what to do."""


class DetectorUnavailableError(EmotionCoreError):
    """The configured face detector's package is not installed, or its name is unknown."""


class JobError(EmotionCoreError):
    """A job cannot start (bad input, another job running); the message says why."""


class OutputError(EmotionCoreError):
    """The output path cannot be written, or holds rows of another shape (another model's classes)."""


class RayMissingError(EmotionCoreError):
    """--engine ray was chosen but Ray is not installed."""


class RayJobError(EmotionCoreError):
    """The Ray cluster cannot be reached, or lost the job (a node or worker gone past Ray's retries); the rows
    written so far stay, and rerunning the same command resumes."""


class EmptySplitError(EmotionCoreError, ValueError):
    """A split with no image that could be read (and, for photos, no face found)."""


class UnsafeFolderError(EmotionCoreError):
    """A folder the app would store personal data in is a symlink, another user's, or open to other users."""


class UploadLimitError(EmotionCoreError):
    """An upload past a cap (its size, the visitor's stored total, files or pixels); the message names the cap."""


class NotAllowedError(EmotionCoreError):
    """The visitor's role or ownership does not allow this (another's job, a server path, training as a viewer)."""


class LimitError(EmotionCoreError):
    """A cap on shared resources is reached (jobs at once, epochs, disk); the message names the cap."""


_ABSOLUTE_PATH = re.compile(r"(?<![\w./~-])(?:/[^\s/'\"`:,;()\[\]]+){2,}/?")


def hide_paths(text: str) -> str:
    """``text`` with every absolute path cut to ``…/<last part>``: what a page may show a visitor of a shared app.

    Error messages from the core name files by their full path (useful in a shell); on a page that is a server
    path, which no visitor should learn.
    """
    return _ABSOLUTE_PATH.sub(lambda match: "…/" + match.group(0).rstrip("/").rsplit("/", 1)[-1], text)
