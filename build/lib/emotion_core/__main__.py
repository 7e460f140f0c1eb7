import sys

from emotion_core.cli import cli

sys.exit(cli())
