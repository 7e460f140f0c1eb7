"""Splits by person: a dataset without a train/test split is split so that no one is in both.

A fine-tune scored on photos of the people it trained on measures memory of those faces, not emotion
recognition; TCFE, KDEF or a user's own photos name each file after the person, so the split can too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import pandas as pd

from emotion_core.data.datasets import Dataset
from emotion_core.data.layouts.base import Sample
from emotion_core.errors import DatasetLayoutError


@dataclass(frozen=True)
class PersonSplit:
    """``by``: a regex searched in each file name whose first group (or group 'person') is the person id,
    or the path of a CSV with columns file,person. ``test_people``: ids such as '21-30' or '3,7,12-15'."""

    by: str
    test_people: str

    def apply(self, dataset: Dataset) -> Dataset:
        """The same dataset with every sample (all splits) re-assigned to 'train' or 'test' by its person."""
        person = self._people_of(dataset.samples)
        wanted = parse_people(self.test_people)
        samples = [Sample("test" if _in(person[s.ref], wanted) else "train", s.label, s.ref) for s in dataset.samples]
        if not any(s.split == "test" for s in samples):
            raise DatasetLayoutError(f"no file belongs to test people '{self.test_people}'")
        if not any(s.split == "train" for s in samples):
            raise DatasetLayoutError(f"every file belongs to test people '{self.test_people}': nothing to train on")
        return replace(dataset, samples=samples)

    def _people_of(self, samples: list[Sample]) -> dict[str, str]:
        if self.by.lower().endswith(".csv"):
            return _people_from_csv(Path(self.by), samples)
        try:
            pattern = re.compile(self.by)
        except re.error as error:
            raise DatasetLayoutError(f"--split-by-person: bad pattern {self.by!r}: {error}") from None
        people, unmatched = {}, []
        for sample in samples:
            match = pattern.search(PurePosixPath(sample.ref).name)
            if match is None:
                unmatched.append(sample.ref)
                continue
            groups = match.groupdict()
            people[sample.ref] = groups.get("person") or (match.group(1) if pattern.groups else match.group(0))
        if unmatched:
            raise DatasetLayoutError(
                f"{len(unmatched)} file name(s) do not match {self.by!r} (e.g. {unmatched[0]}): "
                "every file needs a person"
            )
        return people


def parse_people(text: str) -> list[tuple[str, str]]:
    """'21-30,35,anna' -> [('21', '30'), ('35', '35'), ('anna', 'anna')]: inclusive ranges of ids."""
    ranges = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        ranges.append((low.strip(), (high or low).strip()))
    if not ranges:
        raise DatasetLayoutError("--test-people is empty: give ids such as 21-30 or 3,7,12-15")
    return ranges


def _in(person: str, ranges: list[tuple[str, str]]) -> bool:
    """Numeric ids compare as numbers ('7' lies in '01-20'); others must equal a range's ends."""
    for low, high in ranges:
        if person.isdigit() and low.isdigit() and high.isdigit():
            if int(low) <= int(person) <= int(high):
                return True
        elif person in (low, high):
            return True
    return False


def _people_from_csv(path: Path, samples: list[Sample]) -> dict[str, str]:
    """file,person rows; ``file`` is the path inside the dataset or just the file name."""
    try:
        frame = pd.read_csv(path, dtype=str)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DatasetLayoutError(f"cannot read {path}: {str(error).splitlines()[0]}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if not {"file", "person"} <= set(frame.columns):
        raise DatasetLayoutError(f"{path} needs the columns file,person")
    by_file = {str(f).strip(): str(p).strip() for f, p in zip(frame["file"], frame["person"], strict=True)}
    people, missing = {}, []
    for sample in samples:
        person = by_file.get(sample.ref) or by_file.get(PurePosixPath(sample.ref).name)
        if person is None:
            missing.append(sample.ref)
        else:
            people[sample.ref] = person
    if missing:
        raise DatasetLayoutError(f"{len(missing)} file(s) have no person in {path} (e.g. {missing[0]})")
    return people
