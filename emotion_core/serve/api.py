"""HTTP API: ``POST /predict`` answers uploaded images with the predict CLI's JSON records; ``/health``, ``/models``.

``python -m emotion_core serve`` builds the app around one warm Predictor and runs it with uvicorn on 127.0.0.1.
Before a request reaches a route, the guards (emotion_core.serve.guards) check its Host name, its client's rate, its
token (when one is set) and its body's size and time, so a refused upload is never read. Memory stays bounded under
load: at most ``max_concurrent`` requests decode and classify at once (a semaphore; the Predictor serialises the
model itself), and at most ``max_waiting`` more wait their turn; beyond that a request is told to retry (503).
Bad input is answered per file in the same record shape as the CLI's; no response carries a traceback or a server
path.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from emotion_core.classify.predictor import Predictor, image_record
from emotion_core.classify.registry import model_summaries
from emotion_core.serve.guards import LOOPBACK_HOSTS, BearerAuth, BodyGuard, HostGuard, RateLimit
from emotion_core.vision.decode import MAX_PIXELS, decode_image

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiConfig:
    # Whole request body, all files together: a few phone photos. Checked before parsing, so a huge upload
    # costs neither memory nor disk.
    max_request_bytes: int = 32 * 1024 * 1024
    max_files: int = 32  # files in one request
    max_pixels: int = MAX_PIXELS  # per decoded image (decompression-bomb guard, as for the CLI)
    # Requests decoding and classifying at once. Decoding and detection run in parallel threads; the model
    # itself runs one batch at a time anyway, so more only adds decoded images held in memory.
    max_concurrent: int = 2
    # Requests allowed to wait for a slot; beyond them a 503 asks the client to retry, so a flood cannot
    # pile up uploaded bodies without bound.
    max_waiting: int = 128
    # Every route but /health needs "Authorization: Bearer <token>" when set (serve: EMOTION_API_TOKEN).
    token: str | None = field(default=None, repr=False)
    # Host header names served (any port); others get a 400, which stops DNS rebinding. "*" serves any name.
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    # Requests per second per client address, after a burst of rate_burst; 0 turns the limit off.
    rate_per_s: float = 20.0
    rate_burst: int = 60
    # A body must arrive whole within this many seconds of its headers (32 MB at about 4.5 Mbit/s).
    body_timeout_s: float = 60.0
    # Bytes of bodies being received at once, by declared size: uploads past 1 MB are spooled to temporary files,
    # which are memory where the temp folder is a tmpfs.
    max_receiving_bytes: int = 128 * 1024 * 1024


class FaceRecord(BaseModel):
    box: list[int] = Field(description="x, y, width, height in the image's pixels")
    emotion: str = Field(description="the most probable class")
    scores: dict[str, float] = Field(description="probability per class, in the model's label order")


class ImageRecord(BaseModel):
    """One uploaded file's answer: its faces (largest first), or a one-line error."""

    image: str = Field(description="the uploaded file's name, as sent")
    faces: list[FaceRecord] | None = None
    error: str | None = None


class Health(BaseModel):
    status: str
    model: str
    labels: list[str]


class ModelRow(BaseModel):
    model: str
    architecture: str | None = None
    accuracy: float | None = None
    created: str | None = None
    problem: str | None = None
    serving: bool = False


class Problem(BaseModel):
    detail: str


def create_app(predictor: Predictor, model_name: str = "default", config: ApiConfig | None = None) -> FastAPI:
    """The FastAPI app around one shared Predictor (thread-safe; its model calls are serialised by its lock)."""
    config = config or ApiConfig()
    app = FastAPI(
        title="Emotion recognition API",
        summary="Faces and emotion probabilities for uploaded images; the same records as `python -m emotion_core "
        "predict`.",
        version="1.0",
    )
    gate = _Gate(config.max_concurrent, config.max_waiting)
    shown_name = without_paths(model_name.rstrip("/\\")) or model_name  # a run folder's name, not where it lies

    @app.post(
        "/predict",
        response_model=list[ImageRecord],
        response_model_exclude_none=True,
        responses={413: {"model": Problem}, 422: {"model": Problem}, 503: {"model": Problem}},
    )
    async def predict(
        files: Annotated[list[UploadFile], File(description="one or more image files (any format Pillow reads)")],
    ) -> Any:
        """One record per uploaded file, in upload order; a bad file gets ``{"image", "error"}``."""
        if len(files) > config.max_files:
            return _problem(413, f"{len(files)} files in one request; at most {config.max_files}")
        if not gate.admit():
            return _problem(503, "server busy: too many requests waiting; retry shortly")
        try:
            async with gate.slot:
                # Read only now: while waiting, Starlette keeps each upload past 1 MB spooled on disk, not in memory.
                uploads = [(upload.filename or f"file{i}", await upload.read()) for i, upload in enumerate(files)]
                return await run_in_threadpool(_answer_all, predictor, uploads, config.max_pixels)
        finally:
            gate.leave()

    @app.get("/health", response_model=Health)
    def health() -> Health:
        """The server is up and its model loaded (open without a token, for health checks)."""
        return Health(status="ok", model=shown_name, labels=predictor.labels)

    @app.get("/models", response_model=list[ModelRow], response_model_exclude_none=True)
    def models() -> list[ModelRow]:
        """The models this installation has (shipped and trained); ``serving`` marks the one answering /predict."""
        return [_model_row(row, model_name) for row in model_summaries()]

    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _internal_error)
    _add_guards(app, config)
    return app


def _add_guards(app: FastAPI, config: ApiConfig) -> None:
    """The guards, innermost added first: HostGuard sees a request first, BodyGuard last."""
    app.add_middleware(
        BodyGuard,
        max_bytes=config.max_request_bytes,
        timeout_s=config.body_timeout_s,
        max_receiving_bytes=config.max_receiving_bytes,
    )
    if config.token is not None:
        app.add_middleware(BearerAuth, token=config.token)
    app.add_middleware(RateLimit, per_s=config.rate_per_s, burst=config.rate_burst)
    app.add_middleware(HostGuard, allowed=config.allowed_hosts)


def _model_row(row: dict[str, Any], serving: str) -> ModelRow:
    """A /models row as the API shows it: a problem's text without the folders it names."""
    if row.get("problem"):
        row = {**row, "problem": without_paths(str(row["problem"]))}
    return ModelRow(**row, serving=row["model"] == serving)


_ABSOLUTE_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[/\\](?:[^\s/\\'\"]+[/\\])*([^\s/\\'\"]*)")


def without_paths(text: str) -> str:
    """``text`` with each absolute path cut to its last part: errors keep their meaning, not the server's layout."""
    return _ABSOLUTE_PATH.sub(r"\1", text)


def _answer_all(predictor: Predictor, uploads: list[tuple[str, bytes]], max_pixels: int) -> list[dict[str, Any]]:
    """The CLI's per-image records, in order (runs on a worker thread: decoding and detection block)."""
    return [image_record(predictor, name, partial(decode_image, data, max_pixels)) for name, data in uploads]


class _Gate:
    """A semaphore for the requests working now plus a count of those waiting, all on the event loop's thread."""

    def __init__(self, concurrent: int, waiting: int) -> None:
        self.slot = asyncio.Semaphore(concurrent)
        self.limit = concurrent + waiting
        self.inside = 0

    def admit(self) -> bool:
        if self.inside >= self.limit:
            return False
        self.inside += 1
        return True

    def leave(self) -> None:
        self.inside -= 1


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    """422 with one readable line: a missing ``files`` field says how to send one."""
    problems = error.errors() if isinstance(error, RequestValidationError) else []
    if any(p.get("loc", ())[-1:] == ("files",) and p.get("type") == "missing" for p in problems):
        return _problem(422, "no file sent: upload one or more images in the multipart field 'files'")
    lines = [f"{'.'.join(map(str, p.get('loc', ())))}: {p.get('msg', 'invalid')}" for p in problems]
    return _problem(422, "; ".join(lines) or "invalid request")


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error answering %s %s", request.method, request.url.path)
    return _problem(500, f"internal error ({type(error).__name__}); the server log has the details")
