"""Load aiortc's SRTP library before TensorFlow, in every process that may load both.

Root cause of the dashboard's silent server deaths (no traceback, SIGSEGV): pylibsrtp's extension
(``pylibsrtp/_binding.abi3.so``, used by aiortc under streamlit-webrtc) statically bundles OpenSSL 3.5 and
exports its ~7,500 symbols, without ``-Bsymbolic``. TensorFlow's wheel imports its core with RTLD_GLOBAL
(``tensorflow/python/pywrap_dlopen_global_flags.py``), which puts ``libtensorflow_framework.so.2`` and the
BoringSSL copy inside it (1,784 of the same OpenSSL names) into the process-wide symbol scope. Python
dlopens extensions with RTLD_NOW, and a global-scope definition wins over the library's own: loaded after
TensorFlow, pylibsrtp binds ``HMAC_Init_ex``, ``EVP_*``, ... to BoringSSL, and the ``srtp_init()`` it runs on
import crashes in BoringSSL's ``HMAC_Init_ex`` fed OpenSSL's ``EVP_MD``. Loaded first, pylibsrtp's symbols are
all bound to its own OpenSSL before TensorFlow arrives, and both work (tests/test_load_order.py).

Only the dashboard's process loads both (the webcam page brings aiortc), so ``app.py`` imports this module
first, and so does ``tests/conftest.py`` (its AppTests run pages in the test process). The CLI, the API, batch
and training processes never load aiortc and do not pay for it. It costs about 16 ms; without aiortc installed
it does nothing.
"""

from __future__ import annotations

import sys

if "tensorflow" not in sys.modules:  # too late otherwise; importing pylibsrtp now would crash the process
    try:
        import pylibsrtp  # noqa: F401
    except ImportError:  # the WebRTC extra is not installed: nothing to protect
        pass
