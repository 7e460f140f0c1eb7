import io
import struct
import time
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from emotion_core.errors import ImageTooLargeError, InvalidImageError
from emotion_core.vision.decode import decode_image, read_image


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims width x height pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def encoded(ext: str, shape=(60, 80, 3)) -> bytes:
    image = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    return cv2.imencode(ext, image)[1].tobytes()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"this is plain text, not a picture", "not an image"),
        (encoded(".jpg")[:300], "truncated"),
        (encoded(".png")[:200], "truncated"),
    ],
    ids=["empty", "text", "truncated-jpeg", "truncated-png"],
)
def test_bad_bytes_raise_one_line_errors(data, message):
    with pytest.raises(InvalidImageError) as error:
        decode_image(data)
    assert message in str(error.value).lower()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("width,height", [(60000, 60000), (9000, 9000)])
def test_decompression_bomb_refused_fast(width, height):
    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="pixels"):
        decode_image(png_claiming(width, height))
    assert time.perf_counter() - started < 1.0


def test_gif_named_png_decodes_by_content(face_photos):
    path = face_photos[0]
    assert path.read_bytes()[:3] == b"GIF"
    image = read_image(path)
    assert image.shape == (243, 320, 3) and image.dtype == np.uint8


@pytest.mark.parametrize("ext", [".png", ".bmp", ".webp", ".jpg"])
def test_formats_decode_to_bgr(ext):
    image = np.zeros((10, 12, 3), np.uint8)
    image[:, :, 2] = 255  # pure red in BGR
    decoded = decode_image(cv2.imencode(ext, image)[1].tobytes())
    assert decoded.shape == (10, 12, 3)
    assert decoded[5, 6, 2] > 200 and decoded[5, 6, 0] < 60  # still red: channel order is BGR


def test_exif_orientation_is_applied():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.new("RGB", (40, 20)).save(buffer, "JPEG", exif=exif.tobytes())
    assert decode_image(buffer.getvalue()).shape[:2] == (40, 20)


def test_grey_and_rgba_become_bgr():
    for mode in ("L", "RGBA", "P"):
        buffer = io.BytesIO()
        Image.new(mode, (8, 6)).save(buffer, "PNG")
        assert decode_image(buffer.getvalue()).shape == (6, 8, 3)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(InvalidImageError, match="no such file"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(InvalidImageError, match="directory"):
        read_image(tmp_path)
