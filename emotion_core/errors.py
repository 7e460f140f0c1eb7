"""Specific errors with one-line messages; callers show ``str(error)`` to the user."""


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
