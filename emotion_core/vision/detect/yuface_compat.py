"""yuface's C library called without its leaking binding: the one place that knows yuface's insides.

``yuface.detect`` (yuface 2023.5.1) ``malloc``s a 0x9000-byte result buffer on every call and never frees it: 36 kB
a call, ~35 MiB per 1,000 images, whatever the image size, so a batch job's memory grew with N in every engine
(benchmarks/RESULTS.md). The wheel ships the C library beside the binding; this module calls its
``facedetect_cnn(result_buffer, bgr, width, height, step)`` through ctypes with one buffer per thread, reused. The
rows are the binding's (``tests/test_faces.py`` compares them on real photos, so a yuface that changes its layout
fails there). Where the library or its symbol cannot be found (another platform's wheel), ``load`` returns None and
the caller keeps the binding.

ctypes releases the GIL for the call, which the binding did not: other threads (decoding, classifying) run while a
face is detected. The library's weights are set up on its first call without a lock, so that call is made under one.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Its result layout: an int32 face count, then FIELDS int16 per face (score in percent, x, y, w, h, five landmark
# x/y pairs, one unused), in a buffer the size the binding allocates.
BUFFER_BYTES = 0x9000
FIELDS = 16
USED_FIELDS = 15
# facedetect_cnn(unsigned char*, unsigned char*, int, int, int) as g++/clang and MSVC name it.
SYMBOLS = ("_Z14facedetect_cnnPhS_iii", "?facedetect_cnn@@YAPEAHPEAE0HHH@Z")

RawDetect = Callable[[np.ndarray], np.ndarray]


def load() -> RawDetect | None:
    """A function from a BGR uint8 image to yuface's raw rows, (n, 15) int16; None where the library is not found."""
    function = _library_function()
    if function is None:
        return None
    local = threading.local()
    first_call = threading.Lock()
    ready = False

    def detect(bgr: np.ndarray) -> np.ndarray:
        nonlocal ready
        image = np.ascontiguousarray(bgr, dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("the face detector needs a 3-channel image")
        buffer = getattr(local, "buffer", None)
        if buffer is None:
            buffer = local.buffer = np.zeros(BUFFER_BYTES, np.uint8)
        height, width = image.shape[:2]
        if ready:
            _call(function, buffer, image, width, height)
        else:
            with first_call:
                _call(function, buffer, image, width, height)
                ready = True
        count = int(buffer[:4].view(np.int32)[0])
        rows = buffer[4 : 4 + count * FIELDS * 2].view(np.int16).reshape(count, FIELDS)
        return rows[:, :USED_FIELDS].copy()

    return detect


def _call(function: Callable[..., int | None], buffer: np.ndarray, image: np.ndarray, width: int, height: int) -> None:
    if not function(buffer.ctypes.data, image.ctypes.data, width, height, width * 3):
        raise RuntimeError("the face detector returned nothing")


def _library_function() -> Callable[..., int | None] | None:
    try:
        import yuface
    except ImportError:
        return None
    folder = Path(yuface.__file__).parent
    for path in sorted(folder.glob("*facedetection*")):
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        for symbol in SYMBOLS:
            function = getattr(library, symbol, None)
            if function is not None:
                function.restype = ctypes.c_void_p
                function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
                return function
    return None
