"""``python -m emotion_core predict [--model M] IMG...``: one JSON line per image, in input order."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from emotion_core.errors import EmotionCoreError


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emotion_core", description="Facial emotion recognition.")
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="faces and emotion probabilities for each image")
    predict.add_argument("images", nargs="+", metavar="IMG", help="image files (any format Pillow decodes)")
    predict.add_argument("--model", default=None, help="model name or run folder (default: the shipped model)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return _predict(args.images, args.model)


def _predict(images: list[str], model: str | None) -> int:
    from emotion_core.io import read_image
    from emotion_core.predict import Predictor

    try:
        predictor = Predictor.load(model)
    except (EmotionCoreError, OSError, ValueError) as error:
        print(f"error: cannot load model: {error}", file=sys.stderr)
        return 2
    failed = 0
    for path in images:
        try:
            faces = predictor.predict(read_image(path))
            record = {"image": path, "faces": [face.to_dict() for face in faces]}
        except EmotionCoreError as error:
            record, failed = {"image": path, "error": str(error)}, failed + 1
        except Exception as error:  # one odd file must not cost the rest of the batch their answers
            record, failed = {"image": path, "error": f"unexpected {type(error).__name__}: {error}"}, failed + 1
        print(json.dumps(record), flush=True)
    return 1 if failed else 0
