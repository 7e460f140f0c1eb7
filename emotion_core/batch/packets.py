"""Work packets: what a distributed batch job hands out, one per task, planned by the driver from the inputs less
what the output already holds.

A packet is up to ``PACKET_UNITS`` images, or one segment of a video (``PACKET_UNITS`` sampled frames, decoded
from a seek to its first frame not yet done). Packets are small enough that a worker returns rows every second or
two (so the driver writes them to part files as they come and a kill loses only the packets in flight) and large
enough that the per-task overhead (scheduling, one seek) stays a few per cent. No Ray and no TensorFlow here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace

from emotion_core.batch.sources import IMAGE_FRAME, Item, Unit, resume_frame, video_units
from emotion_core.errors import EmotionCoreError

# Images or sampled frames per packet: ~0.3 s of FER-sized images or ~2 s of 640x480 frames on one core
# ($EMOTION_BATCH_PACKET_UNITS: tests, read per job).
PACKET_UNITS_ENV = "EMOTION_BATCH_PACKET_UNITS"
PACKET_UNITS = 64


@dataclass(frozen=True)
class Packet:
    """Images (``items``), or frames ``start`` (inclusive) to ``stop`` of ``video``, less the frames in ``skip``."""

    items: tuple[Item, ...] = ()
    video: Item | None = None
    start: int = 0
    stop: int | None = None  # None: to the end of the file (its header's frame count can be short)
    skip: tuple[int, ...] = ()
    units: int = 0  # units expected: the progress bar's share

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Packet:
        data = json.loads(text)
        video = Item(**data.pop("video")) if data.get("video") else None
        items = tuple(Item(**item) for item in data.pop("items"))
        return cls(items, video, data["start"], data["stop"], tuple(data["skip"]), data["units"])

    def iter_units(self, every: int) -> Iterator[Unit]:
        """The packet's units, video frames decoded one at a time."""
        if self.video is None:
            yield from (Unit(item, error=item.error) for item in self.items)
            return
        done = {(self.video.source, frame) for frame in self.skip}
        yield from video_units(self.video, every, done, self.start, self.stop)


def plan_packets(
    items: Iterable[Item], every: int, done: set[tuple[str, int]], resumed: dict[str, int] | None = None
) -> Iterator[Packet]:
    """Packets for every unit not in ``done``; videos resumed midway are recorded in ``resumed`` (source -> frame)."""
    size = int(os.environ.get(PACKET_UNITS_ENV) or PACKET_UNITS)
    images: list[Item] = []
    for item in items:
        if item.kind == "video":
            yield from _video_packets(item, every, done, resumed, size)
        elif (item.source, IMAGE_FRAME) not in done:
            images.append(item)
            if len(images) == size:
                yield Packet(tuple(images), units=len(images))
                images = []
    if images:
        yield Packet(tuple(images), units=len(images))


def _video_packets(
    item: Item, every: int, done: set[tuple[str, int]], resumed: dict[str, int] | None, size: int
) -> Iterator[Packet]:
    from emotion_core.live.video import probe

    try:
        frames = probe(item.path).frames
    except EmotionCoreError as error:  # one error row, as the local engine gives
        if (item.source, IMAGE_FRAME) not in done:
            yield Packet((replace(item, kind="error", error=str(error)),), units=1)
        return
    first = resume_frame(item.source, every, done)
    if frames and first >= frames:
        return  # every frame its header counts is written
    if first and resumed is not None:
        resumed[item.source] = first
    span = size * every
    for segment in range(first - first % span, max(frames, first + 1), span):
        stop = segment + span if segment + span < frames else None
        start = max(segment, first)
        while (item.source, start) in done and (stop is None or start < stop):
            start += every
        if stop is not None and start >= stop:
            continue
        end = stop if stop is not None else max(frames, start + 1)
        skip = tuple(f for f in range(start, end, every) if (item.source, f) in done)
        units = max(1, len(range(start, end, every)) - len(skip))
        yield Packet(video=item, start=start, stop=stop, skip=skip, units=units)
