"""A batch job's rows and how they reach disk: atomic part files, a resume index, one merged output at the end.

Rows are written in parts (``<out>.parts/part-000001.parquet``), each complete before it is renamed into
place, every ``PART_SECONDS`` at the latest, so a ``kill -9`` loses only the last seconds' rows (and the units in
flight), and those units are simply redone on the next run.
Every unit's rows go into one part together, so a unit is either fully in the output or not at all: the
resume index (source, frame) of what is already written never yields a duplicate or a lost row.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from emotion_core.batch.sources import IMAGE_FRAME
from emotion_core.errors import OutputError
from emotion_core.records import Box

logger = logging.getLogger(__name__)

FORMATS = (".parquet", ".csv")
# Rows per part file at most ($EMOTION_BATCH_PART_ROWS: tests)...
PART_ROWS_ENV = "EMOTION_BATCH_PART_ROWS"
PART_ROWS = 5000
# ...and a part at least this often: a kill loses seconds of work. A part costs ~2 ms to write and a few kB;
# 100,000 images at 150/s make ~330 parts, merged at the end.
PART_SECONDS = 2.0


@dataclass(frozen=True)
class Row:
    """One output row: a face, a unit without faces (face empty), or a failed file (error set)."""

    source: str
    model: str
    frame: int | None = None
    time_s: float | None = None
    face: int | None = None
    box: Box | None = None
    scores: dict[str, float] | None = None
    error: str | None = None

    @property
    def emotion(self) -> str | None:
        return max(self.scores, key=self.scores.__getitem__) if self.scores else None

    def record(self, labels: list[str]) -> dict[str, object]:
        x, y, w, h = self.box if self.box is not None else (None, None, None, None)
        scores = self.scores or {}
        return {
            "source": self.source,
            "frame": self.frame,
            "time_s": None if self.time_s is None else round(self.time_s, 3),
            "face": self.face,
            "x": x,
            "y": y,
            "w": w,
            "h": h,
            "emotion": self.emotion,
            **{label: scores.get(label) for label in labels},
            "model": self.model,
            "error": self.error,
        }


def schema(labels: list[str]) -> pa.Schema:
    """The output's columns: fixed ones around one float column per class, in the model's order."""
    ints = [pa.field(name, pa.int64()) for name in ("face", "x", "y", "w", "h")]
    return pa.schema(
        [
            pa.field("source", pa.string()),
            pa.field("frame", pa.int64()),
            pa.field("time_s", pa.float64()),
            *ints,
            pa.field("emotion", pa.string()),
            *[pa.field(label, pa.float64()) for label in labels],
            pa.field("model", pa.string()),
            pa.field("error", pa.string()),
        ]
    )


def check_out_path(out: str | Path) -> Path:
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise OutputError(f"--out must end with {' or '.join(FORMATS)}, not '{out.name}'")
    if out.is_dir():
        raise OutputError(f"--out {out} is a folder; give a file name ending .parquet or .csv")
    return out


def parts_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


class PartWriter:
    """Buffers rows and writes them as atomic parquet parts; ``finish`` merges parts (and an earlier output)."""

    def __init__(self, out: str | Path, labels: list[str]) -> None:
        self.out = check_out_path(out)
        self.labels, self.schema = list(labels), schema(labels)
        self.parts = parts_dir(self.out)
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create {self.parts}: {error.strerror or error}") from None
        existing = sorted(self.parts.glob("part-*.parquet"))
        self._next = 1 + max((int(p.stem.split("-")[1]) for p in existing), default=0)
        self._records: list[dict[str, object]] = []
        self._tables: list[pa.Table] = []
        self._since = time.monotonic()
        self.rows_written = 0
        self._part_rows = int(os.environ.get(PART_ROWS_ENV) or PART_ROWS)  # read per job, not at import

    def add(self, rows: Iterable[Row]) -> None:
        """Add one unit's rows (kept together in one part)."""
        self._records.extend(row.record(self.labels) for row in rows)
        self._maybe_flush()

    def add_table(self, table: pa.Table) -> None:
        """Add whole units' rows already in this output's columns (the Ray engine's batches)."""
        self._tables.append(table.select(self.schema.names).cast(self.schema))
        self._maybe_flush()

    @property
    def buffered(self) -> int:
        return len(self._records) + sum(t.num_rows for t in self._tables)

    def _maybe_flush(self) -> None:
        if self.buffered >= self._part_rows or time.monotonic() - self._since >= PART_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._since = time.monotonic()
        if not self.buffered:
            return
        tables = [*self._tables, pa.Table.from_pylist(self._records, schema=self.schema)]
        table = pa.concat_tables(tables)
        target = self.parts / f"part-{self._next:06d}.parquet"
        temporary = target.with_suffix(".tmp")
        pq.write_table(table, temporary)
        os.replace(temporary, target)  # atomic: a reader (or a resume) sees the whole part or none of it
        self._next += 1
        self.rows_written += table.num_rows
        self._records, self._tables = [], []

    def finish(self) -> Path:
        """Flush, then stream every part (after any earlier output's rows) into ``out`` atomically."""
        self.flush()
        sources = [self.out] if self.out.is_file() else []
        sources += sorted(self.parts.glob("part-*.parquet"))
        temporary = self.out.with_name(self.out.name + ".tmp")
        _write_merged(temporary, _tables(sources, self.schema), self.schema)
        os.replace(temporary, self.out)
        shutil.rmtree(self.parts, ignore_errors=True)
        return self.out


def _tables(paths: list[Path], expected: pa.Schema) -> Iterator[pa.Table]:
    """One table per file, one at a time (memory stays one part's worth however large the output)."""
    for path in paths:
        table = read_table(path)
        if table.schema.names != expected.names:
            raise OutputError(f"{path} has columns {table.schema.names}, not this job's; use another --out")
        yield table.cast(expected)


def _write_merged(target: Path, tables: Iterator[pa.Table], table_schema: pa.Schema) -> None:
    if target.name.endswith(".parquet.tmp"):
        with pq.ParquetWriter(target, table_schema) as writer:
            for table in tables:
                writer.write_table(table)
        return
    with pa_csv.CSVWriter(target, table_schema) as writer:
        for table in tables:
            writer.write_table(table)


def read_table(path: str | Path) -> pa.Table:
    """A parquet or CSV output (or part) as an Arrow table."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return pa_csv.read_csv(path)
    return pq.read_table(path)


def done_keys(out: str | Path) -> set[tuple[str, int]]:
    """(source, frame) of every unit already in ``out`` or its parts: what a rerun skips."""
    out = check_out_path(out)
    paths = [out] if out.is_file() else []
    paths += sorted(parts_dir(out).glob("part-*.parquet"))
    done: set[tuple[str, int]] = set()
    for path in paths:
        try:
            table = read_table(path).select(["source", "frame"])
        except (OSError, pa.ArrowException) as error:
            raise OutputError(f"cannot read {path} to resume: {error}") from None
        frames = table.column("frame").to_pylist()
        done.update(
            (source, IMAGE_FRAME if frame is None else int(frame))
            for source, frame in zip(table.column("source").to_pylist(), frames, strict=True)
        )
    return done
