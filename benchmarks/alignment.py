"""Does the eye-aligned crop help the model? Accuracy on TCFE photos and the 20 Yale expression photos, per crop.

    python benchmarks/alignment.py [--model NAME_OR_PATH] [--tcfe ZIP]

Compares the old pipeline (Haar box + margin), the YuNet box + margin, and the YuNet eye-aligned crop (the default),
all with the same model and test-time views. TCFE is for measuring only. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faces_accuracy import EXPECTED, FACES  # noqa: E402

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.classify.predictor import Predictor  # noqa: E402
from emotion_core.labels import canonical_label  # noqa: E402
from emotion_core.paths import SHARED_DATA  # noqa: E402
from emotion_core.vision.align import faces_to_batch  # noqa: E402
from emotion_core.vision.decode import decode_image  # noqa: E402
from emotion_core.vision.detect import DetectorConfig, FaceDetector  # noqa: E402


def photos(tcfe: Path) -> list[tuple[str, str, bytes]]:
    """(set, expected label, image bytes) for every TCFE photo and Yale expression photo."""
    found = []
    with zipfile.ZipFile(tcfe) as archive:
        for name in sorted(n for n in archive.namelist() if n.lower().endswith(".jpg")):
            found.append(("TCFE", canonical_label(name.split("/")[-2]), archive.read(name)))
    for condition, label in EXPECTED.items():
        found += [("Yale", label, p.read_bytes()) for p in sorted(FACES.glob(f"*_{condition}.png"))]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--tcfe", default=str(SHARED_DATA / "tcfe" / "tcfe.zip"))
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    base = predictor.preprocess_config
    crops = {
        "haar box + margin": (FaceDetector(DetectorConfig(backend="haar")), replace(base, align=False)),
        "yunet box + margin": (FaceDetector(), replace(base, align=False)),
        "yunet eye-aligned": (FaceDetector(), base),
    }
    data = photos(Path(args.tcfe))
    results = {}
    for crop, (detector, config) in crops.items():
        right: dict[str, list[int]] = {"TCFE": [0, 0], "Yale": [0, 0]}
        for subset, label, raw in data:
            image = decode_image(raw)
            faces = detector.detect(image)[:1]
            if faces:
                probabilities = predictor.classify(faces_to_batch(image, faces, config))
                right[subset][0] += predictor.labels[int(probabilities[0].argmax())] == label
            right[subset][1] += 1
        results[crop] = {s: {"correct": c, "of": n, "accuracy": round(c / n, 4)} for s, (c, n) in right.items()}
    print("| crop | TCFE accuracy | Yale (20) right |\n|---|---|---|")
    for crop, r in results.items():
        print(f"| {crop} | {r['TCFE']['accuracy']:.4f} | {r['Yale']['correct']}/{r['Yale']['of']} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
