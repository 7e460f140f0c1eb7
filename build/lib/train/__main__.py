import sys

from train.cli import cli

sys.exit(cli())
