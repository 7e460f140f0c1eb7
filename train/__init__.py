"""Training command line over emotion_core (python -m train fit|evaluate|export|models)."""
