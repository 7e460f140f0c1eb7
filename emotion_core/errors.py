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
