"""Image decoding by content (never by file name), with EXIF orientation and a pixel-count guard."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from emotion_core.errors import ImageTooLargeError, InvalidImageError

# 40 MP covers any phone photo; a bomb claiming 60000x60000 is refused from its header alone.
MAX_PIXELS = 40_000_000


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode image bytes to a BGR uint8 array (OpenCV's order, which the detector and drawing use).

    Pillow identifies the format from the content, so GIF data named .png decodes; the size check
    reads only the header, so a decompression bomb is refused before any pixel is allocated.
    """
    if not data:
        raise InvalidImageError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLargeError(f"image is {width}x{height} pixels, more than the {max_pixels:,} allowed")
            image.load()
            image = ImageOps.exif_transpose(image)
    except UnidentifiedImageError:
        raise InvalidImageError("not an image (unrecognised format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError(f"image claims more pixels than the {max_pixels:,} allowed") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise InvalidImageError(f"cannot decode image: {error}") from None
    rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def declared_pixels(data: bytes) -> int:
    """Pixels the image's header claims (width x height), read without decoding; 0 for what is not an image.

    What an upload cap counts before any decoding: a small PNG may declare 40 megapixels.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            width, height = Image.open(io.BytesIO(data)).size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError, EOFError):
        return 0
    return width * height


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read and decode a file; a missing or unreadable path is an InvalidImageError too."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidImageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InvalidImageError(f"is a directory, not an image: {path}") from None
    except OSError as error:
        raise InvalidImageError(f"cannot read {path}: {error.strerror or error}") from None
    return decode_image(data, max_pixels)
