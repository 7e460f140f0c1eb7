"""HTTP API: ``POST /predict`` answers uploaded images with the predict CLI's JSON records; ``/health``, ``/models``.

``python -m emotion_core serve`` builds the app around one warm Predictor and runs it with uvicorn on 127.0.0.1.
Memory stays bounded under load: a request body over ``max_request_bytes`` is refused (413) before it is parsed,
at most ``max_concurrent`` requests decode and classify at once (a semaphore; the Predictor serialises the model
itself), and at most ``max_waiting`` more wait their turn; beyond that a request is told to retry (503).
Bad input is answered per file in the same record shape as the CLI's; no response ever carries a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emotion_core.classify.predictor import Predictor, image_record
from emotion_core.classify.registry import model_summaries
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
        """The server is up and its model loaded."""
        return Health(status="ok", model=model_name, labels=predictor.labels)

    @app.get("/models", response_model=list[ModelRow], response_model_exclude_none=True)
    def models() -> list[ModelRow]:
        """The models this installation has (shipped and trained); ``serving`` marks the one answering /predict."""
        return [ModelRow(**row, serving=row["model"] == model_name) for row in model_summaries()]

    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _internal_error)
    app.add_middleware(BodyLimit, max_bytes=config.max_request_bytes)
    return app


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


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, from Content-Length at once or while chunks arrive.

    A chunked upload that passes the limit is cut off (the app sees the body end there) and whatever the app
    answers to the stub is replaced by the 413, so no oversized body is ever buffered or spooled to disk.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        state = {"received": 0, "over": False, "refused": False}

        async def limited_receive() -> Message:
            if state["over"]:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    state["over"] = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: Message) -> None:
            if not state["over"]:
                await send(message)
            elif not state["refused"]:
                state["refused"] = True
                await self._refuse(scope, send)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        limit = f"{self.max_bytes / 1024 / 1024:g} MB"
        response = _problem(413, f"request body over the {limit} limit: send fewer or smaller images")
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
