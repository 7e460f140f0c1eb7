"""Training command line over emotion_core (python -m train fit|evaluate|export|models)."""

import emotion_core.load_order  # noqa: F401  (first: pylibsrtp must load before TensorFlow, see the module)
