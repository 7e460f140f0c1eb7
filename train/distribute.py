"""Training past one device: the tf.distribute strategy a TrainConfig asks for.

``mirrored`` copies the model onto every local GPU (or, without GPUs, every logical CPU device, which is how
it is tested) and averages gradients; ``multiworker`` does the same across machines listed in TF_CONFIG.
``batch_size`` stays per replica: each step takes ``batch_size * replicas`` images, split between them.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

DISTRIBUTE = ("", "mirrored", "multiworker")


def check_distribute(name: str) -> None:
    """ValueError with a one-line reason for an unknown strategy or a multiworker run without TF_CONFIG."""
    if name not in DISTRIBUTE:
        raise ValueError(f"unknown --distribute '{name}'; choose mirrored or multiworker (or leave it out)")
    if name == "multiworker":
        try:
            cluster = json.loads(os.environ["TF_CONFIG"])["cluster"]
        except (KeyError, ValueError, TypeError):
            raise ValueError("--distribute multiworker needs TF_CONFIG (JSON with 'cluster' and 'task')") from None
        if not cluster:
            raise ValueError("TF_CONFIG lists an empty cluster")


def strategy_for(name: str) -> Any:
    """The strategy for ``name`` ('' : TensorFlow's default, one device). Create it before other TF work:
    the multi-worker strategy must start its collective ops first."""
    import tensorflow as tf

    check_distribute(name)
    if name == "multiworker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy([d.name for d in devices])
    else:
        return tf.distribute.get_strategy()
    logger.info("%s strategy over %d replicas", name, strategy.num_replicas_in_sync)
    return strategy


def global_batch_size(per_replica: int, strategy: Any) -> int:
    return per_replica * strategy.num_replicas_in_sync
