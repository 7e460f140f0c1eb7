"""fit --distribute: MirroredStrategy over two logical CPU devices matches one device (same data, same seed).

Tolerance: per-epoch training loss within 0.07 (measured: 0.046 at most, ~3 % relative) and validation accuracy
within 0.1 (one image of ten). Batch normalisation takes its statistics per replica (4 images each instead of
8), so the runs are close but not bit-identical; an unscaled batch (twice the steps) would drift further.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from train.config import TrainConfig

SCRIPT = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import pandas as pd
from train.config import TrainConfig
from train.fit import fit
from train.distribute import strategy_for
data, out = sys.argv[1], sys.argv[2]
result = {"replicas": strategy_for("mirrored").num_replicas_in_sync}
for name, distribute, batch in (("one", "", 8), ("two", "mirrored", 4)):
    config = TrainConfig(data=data, architecture="tiny", epochs=3, batch_size=batch, augment=False,
                         distribute=distribute, seed=3, warmup_epochs=0)
    run = fit(config, f"{out}/{name}")
    log = pd.read_csv(run / "log.csv")
    result[name] = {"loss": log["loss"].tolist(), "val_accuracy": log["val_accuracy"].tolist()}
print(json.dumps(result))
"""


def test_mirrored_on_two_logical_cpus_matches_one_device(tiny_zip, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tiny_zip), str(tmp_path)], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["one"]["loss"] == pytest.approx(result["two"]["loss"], abs=0.07)
    assert result["one"]["val_accuracy"] == pytest.approx(result["two"]["val_accuracy"], abs=0.1)


def test_bad_strategies_are_refused_before_training(monkeypatch):
    with pytest.raises(ValueError, match="unknown --distribute"):
        TrainConfig(data="x", distribute="horovod").validate()
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        TrainConfig(data="x", distribute="multiworker").validate()
