"""Command line of the training package: fit and evaluate."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from train.config import add_config_arguments, config_from_args


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train", description="Train and evaluate emotion models.")
    commands = parser.add_subparsers(dest="command", required=True)
    fit_parser = commands.add_parser("fit", help="train a model into a run folder")
    add_config_arguments(fit_parser)
    fit_parser.add_argument("--resume", metavar="RUN", help="continue an interrupted run folder with its saved config")
    evaluate_parser = commands.add_parser("evaluate", help="score a model on a dataset split")
    evaluate_parser.add_argument("--data", required=True, help="folder, zip or fer2013.csv")
    evaluate_parser.add_argument("--split", default="test")
    evaluate_parser.add_argument("--model", default=None, help="model name or run folder (default: the shipped model)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from emotion_core.errors import EmotionCoreError

    try:
        if args.command == "fit":
            return _fit(args)
        return _evaluate(args)
    except (EmotionCoreError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: resume with --resume RUN", file=sys.stderr)
        return 130


def _fit(args: argparse.Namespace) -> int:
    from train.config import TrainConfig
    from train.fit import CONFIG, fit

    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / CONFIG).is_file():
            raise ValueError(f"{run_dir} has no {CONFIG}: not a run folder to resume")
        config = TrainConfig(**json.loads((run_dir / CONFIG).read_text()))
        run_dir = fit(config, run_dir, resume=True)
    else:
        run_dir = fit(config_from_args(args))
    print(json.dumps({"run": str(run_dir)}))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from train.evaluate import evaluate, format_report

    report = evaluate(args.data, args.split, args.model)
    print(format_report(report))
    print(json.dumps(report))
    return 0
