import sys

from emotion_core.serve.cli import cli

sys.exit(cli())
