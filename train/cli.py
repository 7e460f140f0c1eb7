"""Command line of the training package: fit, evaluate, export, ensemble and models."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from emotion_core.classify.run_folder import CONFIG_FILE
from emotion_core.settings import apply_process_defaults
from train.config import add_config_arguments, config_from_args

PROGRESS_HANDLER = "train-progress"


def cli(argv: list[str] | None = None) -> int:
    """``python -m train`` and the ``emotion-train`` command: parse, run one subcommand, return the exit status."""
    apply_process_defaults()
    parser = argparse.ArgumentParser(prog="python -m train", description="Train and evaluate emotion models.")
    commands = parser.add_subparsers(dest="command", required=True)
    fit_parser = commands.add_parser("fit", help="train a model into a run folder")
    add_config_arguments(fit_parser)
    fit_parser.add_argument("--resume", metavar="RUN", help="continue an interrupted run folder with its saved config")
    evaluate_parser = commands.add_parser("evaluate", help="score a model on a dataset split")
    evaluate_parser.add_argument("--data", required=True, help="folder, zip or fer2013.csv")
    evaluate_parser.add_argument("--split", default="test")
    evaluate_parser.add_argument(
        "--model", default=None, help="model name, run folder or .tflite file (default: the shipped model)"
    )
    evaluate_parser.add_argument(
        "--faces",
        default="auto",
        choices=["auto", "crops", "detect"],
        help="crops: images are face crops; detect: photos, scored on their largest face as the Predictor finds it "
        "(no face: a wrong answer); auto: detect when sampled images are larger than the input or not square",
    )
    evaluate_parser.add_argument(
        "--split-by-person", default="", metavar="REGEX|CSV", help="re-split by person, as for fit (then --split test)"
    )
    evaluate_parser.add_argument("--test-people", default="", help="with --split-by-person: the 'test' people")
    export_parser = commands.add_parser("export", help="write a model as TFLite beside its run folder")
    export_parser.add_argument("--model", default=None, help="model name or run folder (default: the shipped model)")
    export_parser.add_argument("--format", default="tflite", choices=["tflite"])
    export_parser.add_argument(
        "--quantize",
        default="none",
        choices=["none", "float16", "int8"],
        help="int8 calibrates on the run's training images",
    )
    ensemble_parser = commands.add_parser("ensemble", help="save several trained models as one that averages them")
    ensemble_parser.add_argument("models", nargs="+", help="model names or run folders (two or more)")
    ensemble_parser.add_argument("--out", required=True, help="run folder to write")
    ensemble_parser.add_argument("--data", default="", help="also score it on this dataset's --split (its metrics)")
    ensemble_parser.add_argument("--split", default="test")
    _add_models_parser(commands)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _progress_to_stdout()

    from emotion_core.errors import EmotionCoreError

    try:
        if args.command == "fit":
            return _fit(args)
        if args.command == "export":
            return _export(args)
        if args.command == "models":
            return _models(args)
        if args.command == "ensemble":
            return _ensemble(args)
        return _evaluate(args)
    except (EmotionCoreError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: resume with --resume RUN", file=sys.stderr)
        return 130


def _progress_to_stdout() -> None:
    """train.*'s INFO lines (epoch progress, loading, skipped files) as bare lines on stdout, flushed each.

    The Train page shows them from train.log, so they carry no level or logger prefix; warnings still go to
    stderr with one. Idempotent: calling cli() again in one process adds no second copy of each line.
    """
    progress = logging.getLogger("train")
    if any(handler.get_name() == PROGRESS_HANDLER for handler in progress.handlers):
        return
    lines = logging.StreamHandler(sys.stdout)
    lines.set_name(PROGRESS_HANDLER)
    lines.setFormatter(logging.Formatter("%(message)s"))
    lines.addFilter(lambda record: record.levelno < logging.WARNING)
    problems = logging.StreamHandler(sys.stderr)
    problems.setLevel(logging.WARNING)
    problems.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    progress.setLevel(logging.INFO)
    progress.addHandler(lines)
    progress.addHandler(problems)
    progress.propagate = False


def _fit(args: argparse.Namespace) -> int:
    from train.config import TrainConfig
    from train.fit import fit

    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / CONFIG_FILE).is_file():
            raise ValueError(f"{run_dir} has no {CONFIG_FILE}: not a run folder to resume; start it afresh with fit")
        config = TrainConfig(**json.loads((run_dir / CONFIG_FILE).read_text()))
        run_dir = fit(config, run_dir, resume=True)
    else:
        run_dir = fit(config_from_args(args))
    print(json.dumps({"run": str(run_dir)}))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from emotion_core.data.person_splits import PersonSplit
    from train.evaluate import evaluate, format_report

    if bool(args.split_by_person) != bool(args.test_people):
        raise ValueError("--split-by-person and --test-people go together")
    people = PersonSplit(args.split_by_person, args.test_people) if args.split_by_person else None
    report = evaluate(args.data, args.split, args.model, args.faces, people)
    print(format_report(report))
    print(json.dumps(report))
    return 0


def _ensemble(args: argparse.Namespace) -> int:
    from train.ensemble import ensemble, record_metrics

    run_dir = ensemble(args.models, args.out)
    if args.data:
        record_metrics(run_dir, args.data, args.split)
    print(json.dumps({"run": str(run_dir)}))
    return 0


def _add_models_parser(commands: argparse._SubParsersAction) -> None:
    models_parser = commands.add_parser("models", help="list registered models; rename, delete or compare them")
    actions = models_parser.add_subparsers(dest="action")
    rename_parser = actions.add_parser("rename", help="rename a trained model")
    rename_parser.add_argument("old")
    rename_parser.add_argument("new", help="letters, digits, '-' and '_'")
    delete_parser = actions.add_parser("delete", help="delete a trained model's run folder")
    delete_parser.add_argument("name")
    delete_parser.add_argument("--yes", action="store_true", help="confirm: the folder is removed for good")
    compare_parser = actions.add_parser("compare", help="per-class recall and F1 of models on one dataset split")
    compare_parser.add_argument("names", nargs="+")
    compare_parser.add_argument("--data", required=True, help="folder, zip or fer2013.csv")
    compare_parser.add_argument("--split", default="test")


def _export(args: argparse.Namespace) -> int:
    from train.export import export

    path = export(args.model, args.quantize)
    print(json.dumps({"export": str(path), "bytes": path.stat().st_size, "quantize": args.quantize}))
    return 0


def _models(args: argparse.Namespace) -> int:
    from emotion_core.actors import SHELL
    from train import models

    if args.action == "rename":
        print(f"renamed {args.old} to {models.rename_model(args.old, args.new, SHELL).name}")
    elif args.action == "delete":
        if not args.yes:
            raise ValueError(f"deleting '{args.name}' removes its folder for good; repeat with --yes to confirm")
        models.delete_model(args.name, SHELL)
        print(f"deleted {args.name}")
    elif args.action == "compare":
        frame = models.compare_models(args.names, args.data, args.split)
        table = frame.pivot(index="class", columns="model", values=["recall", "f1"]).loc[frame["class"].unique()]
        print(table.to_string())
        print(json.dumps(frame.to_dict(orient="records")))
    else:
        print(models.model_table().to_string(index=False))
    return 0
