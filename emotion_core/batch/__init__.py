"""Batch jobs over folders, zips, globs, images and videos: one row per face, resumable, local or on Ray.

``python -m emotion_core batch INPUT... --out results.parquet``; see ``job.run_batch``.
"""

from emotion_core.batch.job import BatchConfig, BatchSummary, run_batch

__all__ = ["BatchConfig", "BatchSummary", "run_batch"]
