"""A stand-in for OpenAI's Images API on 127.0.0.1, strict the way OpenAI is.

It speaks the real wire protocol, so the real openai SDK talks to it through
OPENAI_BASE_URL: JSON generations, multipart and JSON edits, real base64 images
made with Pillow, `usage`, and OpenAI's error bodies and status codes. A request
OpenAI would refuse is refused here with the error OpenAI gives, so a wrong
request fails a test instead of passing silently.

It also stands in for the endpoint that the prediction server's `--upload-url`
points at (Replicate's file store): `PUT /uploads/<name>` keeps the file in
`.uploads` and answers with a URL of its own for each file; and for the webhook
an asynchronous prediction names: `POST /webhooks` keeps each prediction object it
is sent in `.webhooks`.

It can also stand in for a gateway in front of OpenAI (`gateway=Gateway(...)`):
it then accepts the gateway's own keys instead of OpenAI-shaped ones, requires
the gateway's own headers, and refuses the way LiteLLM does.

Tests start it in-process (`StandIn().start()`), read what reached it from
`.requests`, and script failures with `.fail_next(...)`. By hand:

    python -m tools.openai_standin --port 8000 [--latency 2.5] [--today 2026-12-02]
        [--gateway-key sk-1234] [--gateway-header "cf-aig-authorization: Bearer tok"]
"""

import argparse
import asyncio
import base64
import binascii
import functools
import hashlib
import io
import json
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import web
from PIL import Image, ImageDraw

# OpenAI's image models, from openai-python 3.54 (types/image_model.py and the `model`
# docstrings of image_generate_params.py and image_edit_params.py), each with the day
# OpenAI shuts it down: image_model.py for gpt-image-1 ("shut down on October 23,
# 2026") and DALL-E ("retired on May 12, 2026"), OpenAI's deprecations page (notice of
# 2026-06-02) for the three that go on 2026-12-01. From that day on it answers 404.
IMAGE_MODELS: dict[str, date | None] = {
    "gpt-image-2": None,
    "gpt-image-2-2026-04-21": None,
    "gpt-image-2.5-sunburst": None,
    "gpt-image-2.5-sunburst-2026-09-08": None,
    "gpt-image-2.5-flare": None,
    "gpt-image-2.5-flare-2026-09-08": None,
    "gpt-image-2.6-sunburst": None,
    "gpt-image-2.6-flare": None,
    "gpt-image-1.5": date(2026, 12, 1),
    "gpt-image-1-mini": date(2026, 12, 1),
    "chatgpt-image-latest": date(2026, 12, 1),
    "gpt-image-1": date(2026, 10, 23),
    "dall-e-2": date(2026, 5, 12),
    "dall-e-3": date(2026, 5, 12),
}
# image_edit_params.py: input_fidelity "Supports `high` and `low` on `gpt-image-1.5`;
# `gpt-image-1-mini` supports only `low`. For `gpt-image-2`, omit this parameter."
# (gpt-image-1 took both.) A model it does not name is refused the parameter.
INPUT_FIDELITY_BY_MODEL = {
    "gpt-image-1.5": ("high", "low"),
    "gpt-image-1-mini": ("low",),
    "gpt-image-1": ("high", "low"),
}
# openai-python 3.54 gives safety_identifier "a maximum length of 128 characters".
MAX_SAFETY_IDENTIFIER_CHARS = 128
# The limits, as OpenAI documents them in openai-python 3.54's docstrings
# (image_generate_params.py, image_edit_params.py): "The standard sizes 1024x1024,
# 1536x1024, and 1024x1536 are supported by the GPT image models; auto ..."
SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
# "For gpt-image-2, gpt-image-2-2026-04-21, gpt-image-2.5-sunburst,
# gpt-image-2.5-sunburst-2026-09-08, gpt-image-2.5-flare, and
# gpt-image-2.5-flare-2026-09-08, arbitrary resolutions are supported as
# WIDTHxHEIGHT strings ... Width and height must both be divisible by 16 and the
# requested aspect ratio must be between 1:3 and 3:1. ... the maximum supported
# resolution is 3840x2160": read as at most that many pixels and that long a side.
ARBITRARY_SIZE_MODELS = (
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
)
SIZE_MULTIPLE = 16
MAX_SIDE_RATIO = 3
MAX_SIZE = (3840, 2160)
# "low, medium and high are supported for the GPT image models"; auto is the default.
QUALITIES = ("low", "medium", "high", "auto")
# The `quality` docstrings of both: "`gpt-image-2.5-sunburst` and `gpt-image-2.5-flare`,
# including their `2026-09-08` snapshots, also support `xhigh` and `max`."
TOP_QUALITIES = ("xhigh", "max")
TOP_QUALITY_MODELS = (
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
)
BACKGROUNDS = ("transparent", "opaque", "auto")
OUTPUT_FORMATS = ("png", "jpeg", "webp")  # gif and svg need access this key lacks
MODERATIONS = ("low", "auto")
INPUT_FIDELITIES = ("high", "low")
MAX_PROMPT_CHARS = 32_000  # "The maximum length is 32000 characters"
MAX_EDIT_IMAGES = 16  # "You can provide up to 16 images"
# "each image should be a png, webp, or jpg file less than 50MB": read strictly, as
# decimal megabytes, so a request that passes here passes either reading.
MAX_IMAGE_BYTES = 50_000_000
IMAGE_MIME_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
# Output tokens per image for a 1024x1024 image, as OpenAI bills them; 1.5x for 1536-wide.
# OpenAI publishes none for xhigh and max: twice and four times high, as Replicate's
# prices per image for those tiers are ($0.25 and $0.50 against $0.128).
OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 8320, "max": 16640}
IMAGE_INPUT_TOKENS = 323  # what OpenAI reports, roughly, for one 1024px input image

# OpenAI's OpenAPI schemas of the three request bodies (from openai/openai-openapi,
# MIT, with $refs inlined), plus what the API enforces beyond them: no unknown fields.
SPEC_SCHEMAS = json.loads(
    (Path(__file__).parent / "openai_spec" / "openai_images_spec.json").read_text()
)
# The spec (2026-08-21) predates safety_identifier, which openai-python 3.54 sends in
# generations and multipart edits; OpenAI documents it for no other form.
for _name in ("CreateImageRequest", "CreateImageEditRequest"):
    SPEC_SCHEMAS[_name]["properties"]["safety_identifier"] = {
        "type": "string",
        "maxLength": MAX_SAFETY_IDENTIFIER_CHARS,
    }
# The JSON form's image URL: maxLength 20971520 in the spec.
MAX_DATA_URL_CHARS = SPEC_SCHEMAS["EditImageBodyJsonParam"]["properties"]["images"]["items"][
    "properties"
]["image_url"]["maxLength"]
# The spec's JSON edit form lists only the standard sizes; openai-python 3.54, newer,
# documents arbitrary sizes for /v1/images/edits, which that form is one of.
SPEC_SCHEMAS["EditImageBodyJsonParam"]["properties"]["size"] = {
    "anyOf": [{"type": "string"}, {"type": "null"}]
}
# Nor has it xhigh and max, which openai-python 3.54 documents for all three forms;
# which models take them is checked apart (TOP_QUALITY_MODELS).
for _schema in (
    SPEC_SCHEMAS["CreateImageRequest"]["properties"]["quality"],
    SPEC_SCHEMAS["CreateImageEditRequest"]["properties"]["quality"],
    SPEC_SCHEMAS["EditImageBodyJsonParam"]["properties"]["quality"]["anyOf"][0],
):
    _schema["enum"] = [*_schema["enum"], *TOP_QUALITIES]
SPEC_VALIDATORS = {
    name: jsonschema.Draft7Validator({**schema, "additionalProperties": False})
    for name, schema in SPEC_SCHEMAS.items()
}

# The parameters each endpoint accepts, besides the images themselves.
COMMON_PARAMS = {
    "model",
    "prompt",
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "user",
}
GENERATION_PARAMS = COMMON_PARAMS | {"moderation", "safety_identifier"}
# No moderation in the multipart form; no safety_identifier in the JSON one.
MULTIPART_EDIT_PARAMS = COMMON_PARAMS | {"input_fidelity", "safety_identifier"}
JSON_EDIT_PARAMS = COMMON_PARAMS | {"input_fidelity", "moderation"}


class OpenAIError(Exception):
    """An error answer, in OpenAI's shape: {"error": {message, type, param, code}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type, "param": param, "code": code}}
        self.headers = headers or {}

    def response(self) -> web.Response:
        return web.json_response(self.body, status=self.status, headers=self.headers)


@dataclass(frozen=True)
class Gateway:
    """What a gateway in front of OpenAI asks of its callers instead of an OpenAI key.

    `keys`: the keys it issues, such as LiteLLM's documented master key `sk-1234`;
    empty, it takes any non-empty key, as LiteLLM without auth ("anything") and
    Ollama ("ollama", "required but ignored") do. `headers`: headers of its own it
    requires, such as Cloudflare AI Gateway's `cf-aig-authorization: Bearer <token>`.
    """

    keys: frozenset[str] = frozenset()
    headers: dict[str, str] = field(default_factory=dict)
    # Refuses every request, quoting each header it got, as a gateway's debug mode may.
    quotes_headers: bool = False


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One request that reached the stand-in, as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    form: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    response_images: list[bytes] = field(default_factory=list)
    client_disconnected: bool = False  # the client hung up before the answer
    stalled: bool = False  # a "stall-mid" answer sent its first image and is waiting
    connection: tuple[str, int] | None = None  # the client's address and port

    @property
    def params(self) -> dict[str, Any]:
        """The non-file parameters, from JSON or from the form."""
        return dict(self.json) if self.json is not None else dict(self.form)


# The longest a request is held (StandIn.hold_until, StandIn.hold).
HOLD_SECONDS = 60.0

# A scripted failure with this body closes the connection without answering.
DROP_CONNECTION = object()


@dataclass(frozen=True)
class CutShort:
    """A scripted 200 whose JSON body stops after `sent` bytes of `body`: the
    connection is closed mid-answer, as a dropped link or a proxy's timeout does."""

    body: bytes
    sent: int


@dataclass(frozen=True)
class ScriptedFailure:
    status: int
    body: Any  # a dict is sent as JSON, bytes or str as they are, or DROP_CONNECTION
    headers: dict[str, str]


# Faults chosen by the prompt, for runs with many predictions in flight, where a
# queue of scripted failures cannot say which prediction gets which: a prompt that
# contains "[fault:<kind>]" gets, on its first, second, ... attempt, the steps below
# (the last one repeats). "ok" answers normally.
FAULT_PLANS: dict[str, tuple[str, ...]] = {
    "500-once": ("500", "ok"),
    "500-always": ("500",),
    "429-once": ("429", "ok"),
    "drop-once": ("drop", "ok"),
    "cut-early": ("cut-early",),  # the answer stops inside its first image
    "cut-late": ("cut-late",),  # the answer stops halfway, after some whole images
    "cut-early-once": ("cut-early", "ok"),
    "garbled-early-once": ("garbled-early", "ok"),  # broken JSON inside the first image
    "stall-mid": ("stall-mid",),  # the first image, then nothing for slow_seconds
    "stall-early": ("stall-early",),  # part of the first image, then nothing, likewise
    "slow": ("slow",),  # the answer comes after slow_seconds
    # What gateways and newer models do to `usage` (openai-python 3.54 images_response.py).
    "usage-trimmed": ("usage-trimmed",),  # no input_tokens, no text_tokens in its details
    "text-out": ("text-out",),  # output_tokens_details splits the output: some of it text
    "text-out-total-trimmed": ("text-out-total-trimmed",),  # that split, no output_tokens
}
# The text tokens in a "text-out" answer's output.
TEXT_OUTPUT_TOKENS = 120
FAULT_IN_PROMPT = re.compile(r"\[fault:([a-z0-9-]+)\]")
SERVER_ERROR = {
    "error": {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}
RATE_LIMITED = {
    "error": {
        "message": "Rate limit reached for images per minute.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}
ERROR_STEPS = {
    "500": ScriptedFailure(500, SERVER_ERROR, {}),
    "429": ScriptedFailure(429, RATE_LIMITED, {"retry-after": "1"}),
    "drop": ScriptedFailure(0, DROP_CONNECTION, {}),
}


class StandIn:
    """The server. `latency` (seconds) delays every answer, as OpenAI's minute does;
    `heavy` answers with photograph-sized images; `today` decides which models are
    shut down (tests set it, so no outcome changes with the calendar)."""

    def __init__(
        self,
        latency: float = 0.0,
        heavy: bool = False,
        today: date | None = None,
        gateway: Gateway | None = None,
    ) -> None:
        self.latency = latency
        self.heavy = heavy
        self.initial_today = today or date.today()
        self.today = self.initial_today
        # None: OpenAI itself, which takes only OpenAI-shaped keys.
        self.initial_gateway = gateway
        self.gateway = gateway
        # Models OpenAI publishes after openai-python 3.54 (a test names them), such
        # as a new dated snapshot: live, with no parameter rules beyond the SDK's.
        self.published_later: set[str] = set()
        # A test sets hold_until to hold each request until that many have arrived
        # (for at most HOLD_SECONDS): overlap is then proven, not timed.
        self.hold_until = 0
        # hold() holds every request until release() (for at most HOLD_SECONDS), so a
        # test can act while predictions are known to be waiting on OpenAI.
        self.holding = False
        self.slow_seconds = 60.0
        self._attempts: dict[str, int] = {}
        self.in_flight = 0
        self.peak_in_flight = 0
        self.requests: list[RecordedRequest] = []
        self.uploads: list[UploadedFile] = []
        # Replicate's side of an asynchronous prediction: every webhook it was sent.
        self.webhooks: list[dict[str, Any]] = []
        self._failures: deque[ScriptedFailure] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- control, for tests --------------------------------------------------

    def fail_next(
        self,
        status: int,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests with this status and body instead."""
        with self._lock:
            for _ in range(times):
                self._failures.append(ScriptedFailure(status, body, headers or {}))

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        self.holding = False

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.uploads.clear()
            self.webhooks.clear()
            self._failures.clear()
        self.latency = 0.0
        self.today = self.initial_today
        self.gateway = self.initial_gateway
        self.published_later.clear()
        self._attempts.clear()
        self.hold_until = 0
        self.holding = False
        self.peak_in_flight = self.in_flight

    def start(self, port: int = 0) -> str:
        """Serve from a thread of its own; return the base URL for OPENAI_BASE_URL."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            self._runner = web.AppRunner(self.app(), access_log=None, handler_cancellation=True)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", port)
            await site.start()
            bound_port = self._runner.addresses[0][1]
            self.base_url = f"http://127.0.0.1:{bound_port}/v1"
            ready.set()

        def run() -> None:
            assert self._loop is not None
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        threading.Thread(target=run, name="openai-standin", daemon=True).start()
        ready.wait(10)
        return self.base_url

    def stop(self) -> None:
        if self._loop is None or self._runner is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    # -- the HTTP side -------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024**3)
        app.router.add_post("/v1/images/generations", self._generations)
        app.router.add_post("/v1/images/edits", self._edits)
        app.router.add_put("/uploads/{name}", self._upload)
        app.router.add_post("/webhooks", self._webhook)
        return app

    async def _webhook(self, request: web.Request) -> web.Response:
        prediction = await request.json()
        with self._lock:
            self.webhooks.append(prediction)
        return web.Response(status=200)

    async def _upload(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        upload = UploadedFile("upload", name, request.content_type, await request.read())
        with self._lock:
            self.uploads.append(upload)
            number = len(self.uploads)
        # Like a real file store, every upload gets a URL of its own.
        location = f"http://127.0.0.1:{request.url.port}/files/{number}/{name}"
        return web.Response(status=201, headers={"Location": location})

    async def _generations(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, self._parse_generation)

    async def _edits(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, self._parse_edit)

    async def _handle(self, request: web.Request, parse: Any) -> web.StreamResponse:
        self.in_flight += 1  # only ever touched on the stand-in's own event loop
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return await self._answer(request, parse)
        finally:
            self.in_flight -= 1

    async def _wait_for_company(self) -> None:
        deadline = time.monotonic() + HOLD_SECONDS
        while (
            len(self.requests) < self.hold_until or self.holding
        ) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def _answer(self, request: web.Request, parse: Any) -> web.StreamResponse:
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            connection=request.transport.get_extra_info("peername") if request.transport else None,
        )
        with self._lock:
            self.requests.append(recorded)
            failure = self._failures.popleft() if self._failures else None
        try:
            await self._wait_for_company()
            await asyncio.sleep(self.latency)
        except asyncio.CancelledError:  # the client hung up (handler_cancellation)
            recorded.client_disconnected = True
            raise
        try:
            if self.gateway is None:
                _check_api_key(recorded.headers.get("authorization", ""))
            else:
                _check_gateway(self.gateway, recorded.headers)
            await parse(request, recorded)
            if failure is not None:
                return await _scripted_response(request, failure)
            params = recorded.params
            self._check_model(params["model"])
            if recorded.path.endswith("/edits"):
                _check_input_fidelity(params)
            step = self._fault_step(params["prompt"])
            if step in ERROR_STEPS:
                return await _scripted_response(request, ERROR_STEPS[step])
            input_images = len(recorded.files) or _json_images(params)
            answer = _make_answer(params, input_images, self.heavy)
        except OpenAIError as error:
            return error.response()
        recorded.response_images = answer.pop("_images")
        _change_usage(answer["usage"], step)
        if step == "slow":
            await asyncio.sleep(self.slow_seconds)
        body = json.dumps(answer).encode()
        first_image = body.index(b'"b64_json"') + 100
        if step in ("cut-early", "cut-late"):
            cut = first_image if step == "cut-early" else max(first_image, len(body) // 2)
            return await _scripted_response(request, ScriptedFailure(200, CutShort(body, cut), {}))
        if step == "garbled-early":
            body = body[:first_image] + b'\x00"}]}' + body[first_image + 6 :]
        if step == "stall-mid":
            return await self._stalled(request, recorded, body, body.index(b'"}', first_image) + 2)
        if step == "stall-early":
            return await self._stalled(request, recorded, body, first_image)
        return web.Response(body=body, content_type="application/json")

    async def _stalled(
        self, request: web.Request, recorded: RecordedRequest, body: bytes, pause_at: int
    ) -> web.StreamResponse:
        """The answer up to pause_at, then a wait of slow_seconds before the rest."""
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", "Content-Length": str(len(body))}
        )
        await response.prepare(request)
        await response.write(body[:pause_at])
        recorded.stalled = True
        try:
            await asyncio.sleep(self.slow_seconds)
        except asyncio.CancelledError:  # the client hung up (handler_cancellation)
            recorded.client_disconnected = True
            raise
        await response.write(body[pause_at:])
        return response

    def _fault_step(self, prompt: str) -> str:
        """What this attempt of a "[fault:...]" prompt gets; "ok" for any other."""
        found = FAULT_IN_PROMPT.search(prompt)
        if found is None:
            return "ok"
        plan = FAULT_PLANS[found.group(1)]
        with self._lock:
            attempt = self._attempts.get(prompt, 0)
            self._attempts[prompt] = attempt + 1
        return plan[min(attempt, len(plan) - 1)]

    def _check_model(self, model: str) -> None:
        unpublished = None if model in self.published_later else self.today
        shutdown = IMAGE_MODELS.get(model, unpublished)
        if shutdown is not None and self.today >= shutdown:
            raise OpenAIError(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                param=None,
                code="model_not_found",
            )

    async def _parse_generation(self, request: web.Request, recorded: RecordedRequest) -> None:
        recorded.json = await _json_body(request)
        _check_params(recorded.json, GENERATION_PARAMS)
        _check_against_spec(recorded.json, "CreateImageRequest")

    async def _parse_edit(self, request: web.Request, recorded: RecordedRequest) -> None:
        if request.content_type == "application/json":
            recorded.json = await _json_body(request)
            _check_params(
                {k: v for k, v in recorded.json.items() if k != "images"}, JSON_EDIT_PARAMS
            )
            _check_json_images(recorded.json.get("images"))
            _check_against_spec(recorded.json, "EditImageBodyJsonParam")
            return
        if request.content_type != "multipart/form-data":
            raise OpenAIError(
                400,
                f"Unsupported content type: '{request.content_type}'. This API method only "
                "accepts 'application/json' and 'multipart/form-data' requests.",
                code="unsupported_content_type",
            )
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                recorded.files.append(
                    UploadedFile(name, value.filename, value.content_type, value.file.read())
                )
            else:
                recorded.form[name] = value
        params = {name: _form_value(name, value) for name, value in recorded.form.items()}
        _check_params(params, MULTIPART_EDIT_PARAMS)
        _check_uploaded_images(recorded.files)
        _check_against_spec({**params, "image": "(checked above)"}, "CreateImageEditRequest")


def _check_against_spec(body: dict[str, Any], schema_name: str) -> None:
    """The safety net under the rules above: OpenAI's own OpenAPI schema for the body."""
    error = jsonschema.exceptions.best_match(SPEC_VALIDATORS[schema_name].iter_errors(body))
    if error is not None:
        param = ".".join(str(part) for part in error.absolute_path) or None
        raise OpenAIError(400, f"Invalid request: {error.message}", param=param)


async def _scripted_response(request: web.Request, failure: ScriptedFailure) -> web.StreamResponse:
    if isinstance(failure.body, CutShort):
        response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "application/json",
                "Content-Length": str(len(failure.body.body)),
            },
        )
        try:
            await response.prepare(request)
            await response.write(failure.body.body[: failure.body.sent])
        except ConnectionResetError:
            pass  # the client gave up first
        if request.transport is not None:
            request.transport.abort()
        return response
    if failure.body is DROP_CONNECTION:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client
    if isinstance(failure.body, dict):
        return web.json_response(failure.body, status=failure.status, headers=failure.headers)
    body = failure.body.encode() if isinstance(failure.body, str) else failure.body
    return web.Response(body=body, status=failure.status, headers=failure.headers)


def _check_api_key(authorization: str) -> None:
    if not authorization.startswith("Bearer ") or not authorization[7:].strip():
        raise OpenAIError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    key = authorization[7:]
    if not re.fullmatch(r"sk-[A-Za-z0-9_-]{8,}", key) or key.startswith("sk-invalid"):
        raise OpenAIError(
            401,
            f"Incorrect API key provided: {key[:6]}{'*' * 10}{key[-4:]}. You can find your "
            "API key at https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )


def _check_gateway(gateway: Gateway, headers: dict[str, str]) -> None:
    """Refuse as a gateway does. Like some gateways, it echoes what it received
    (a header whole, a key masked the way LiteLLM masks it), so tests can prove
    that the package never passes either on."""
    if gateway.quotes_headers:
        quoted = "; ".join(f"{name}: {value}" for name, value in headers.items())
        raise OpenAIError(403, f"Forbidden. Request headers: {quoted}", type="auth_error")
    for name, value in gateway.headers.items():
        received = headers.get(name.lower())
        if received != value:
            raise OpenAIError(
                401,
                f"Unauthorized: header {name} is missing or wrong (received {received!r}).",
                type="auth_error",
                code="401",
            )
    scheme, _, key = headers.get("authorization", "").partition(" ")
    key = key.strip() if scheme == "Bearer" else ""
    if not key or (gateway.keys and key not in gateway.keys):
        # LiteLLM's refusal, as its users quote it (BerriAI/litellm#20673).
        raise OpenAIError(
            401,
            f"Authentication Error, Invalid proxy server token passed. Received API Key = "
            f"{key[:3]}...{key[-4:]}. Unable to find token in cache or "
            "`LiteLLM_VerificationTokenTable`",
            type="token_not_found_in_db",
            param="key",
            code="401",
        )


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise OpenAIError(400, "Invalid body: expected a JSON object.", code="invalid_request_body")
    try:
        body = json.loads(await request.read())
    except ValueError as error:
        raise OpenAIError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly.)",
        ) from error
    if not isinstance(body, dict):
        raise OpenAIError(400, "Invalid body: expected a JSON object.")
    return body


def _form_value(name: str, value: str) -> Any:
    """Form fields arrive as text; OpenAI reads the numeric ones as integers."""
    if name in ("n", "output_compression"):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _invalid(param: str, message: str, code: str = "invalid_value") -> OpenAIError:
    return OpenAIError(400, message, param=param, code=code)


def _check_choice(params: dict[str, Any], name: str, choices: tuple[str, ...]) -> None:
    if name in params and params[name] not in choices:
        supported = ", ".join(f"'{c}'" for c in choices)
        raise _invalid(
            name,
            f"Invalid value: '{params[name]}'. Supported values are: {supported}.",
        )


def _check_int(params: dict[str, Any], name: str, low: int, high: int) -> None:
    if name not in params:
        return
    value = params[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid(
            name,
            f"Invalid type for '{name}': expected an integer, but got {type(value).__name__}.",
            "invalid_type",
        )
    if value < low:
        raise _invalid(
            name,
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            "integer_below_min_value",
        )
    if value > high:
        raise _invalid(
            name,
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            "integer_above_max_value",
        )


def _check_params(params: dict[str, Any], allowed: set[str]) -> None:
    """Refuse what OpenAI refuses, with its message, param and code."""
    for name in params:
        if name not in allowed:
            raise _invalid(name, f"Unknown parameter: '{name}'.", "unknown_parameter")
    prompt = params.get("prompt")
    if prompt is None:
        raise _invalid(
            "prompt", "Missing required parameter: 'prompt'.", "missing_required_parameter"
        )
    if not isinstance(prompt, str):
        raise _invalid("prompt", "Invalid type for 'prompt': expected a string.", "invalid_type")
    if not prompt:
        raise _invalid(
            "prompt",
            "Invalid 'prompt': empty string. Expected a string with minimum length 1, "
            "but got an empty string instead.",
            "empty_string",
        )
    if len(prompt) > MAX_PROMPT_CHARS:
        raise _invalid(
            "prompt",
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"{MAX_PROMPT_CHARS}, but got a string with length {len(prompt)} instead.",
            "string_above_max_length",
        )
    # OpenAI would fall back to dall-e-2 without a model; this package always names one.
    if not isinstance(params.get("model"), str):
        raise _invalid(
            "model", "Missing required parameter: 'model'.", "missing_required_parameter"
        )
    _check_int(params, "n", 1, 10)
    _check_size(params)
    top = TOP_QUALITIES if params["model"] in TOP_QUALITY_MODELS else ()
    _check_choice(params, "quality", (*QUALITIES, *top))
    _check_choice(params, "background", BACKGROUNDS)
    _check_choice(params, "output_format", OUTPUT_FORMATS)
    _check_choice(params, "moderation", MODERATIONS)
    _check_choice(params, "input_fidelity", INPUT_FIDELITIES)
    _check_int(params, "output_compression", 0, 100)
    output_format = params.get("output_format", "png")
    if "output_compression" in params and output_format == "png":
        raise _invalid(
            "output_compression",
            "Compression less than 100 is not supported for PNG output format.",
        )
    if params.get("background") == "transparent" and output_format == "jpeg":
        raise _invalid(
            "background",
            "Transparent background is not supported for jpeg output format. "
            "Use png or webp instead.",
        )
    for name in ("user", "safety_identifier"):
        if name in params and not isinstance(params[name], str):
            raise _invalid(name, f"Invalid type for '{name}': expected a string.", "invalid_type")
    identifier = params.get("safety_identifier", "")
    if len(identifier) > MAX_SAFETY_IDENTIFIER_CHARS:
        raise _invalid(
            "safety_identifier",
            f"Invalid 'safety_identifier': string too long. Expected a string with maximum "
            f"length {MAX_SAFETY_IDENTIFIER_CHARS}, but got a string with length "
            f"{len(identifier)} instead.",
            "string_above_max_length",
        )


def _check_size(params: dict[str, Any]) -> None:
    """The standard sizes and auto for every model; WIDTHxHEIGHT where documented."""
    size, model = params.get("size"), params["model"]
    if size is None or size in SIZES:
        return
    if model not in ARBITRARY_SIZE_MODELS:
        raise _invalid(
            "size",
            f"Invalid size '{size}' for model '{model}'. Supported sizes are "
            f"{', '.join(SIZES[:-1])} and auto.",
        )
    match = re.fullmatch(r"([1-9][0-9]*)x([1-9][0-9]*)", str(size))
    width, height = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    fits = (
        match is not None
        and width % SIZE_MULTIPLE == 0
        and height % SIZE_MULTIPLE == 0
        and max(width, height) <= MAX_SIDE_RATIO * min(width, height)
        and width * height <= MAX_SIZE[0] * MAX_SIZE[1]
        and max(width, height) <= MAX_SIZE[0]
    )
    if not fits:
        raise _invalid(
            "size",
            f"Invalid size '{size}'. Width and height must be divisible by {SIZE_MULTIPLE}, "
            f"the aspect ratio between 1:{MAX_SIDE_RATIO} and {MAX_SIDE_RATIO}:1, and the "
            f"size at most {MAX_SIZE[0]}x{MAX_SIZE[1]}.",
        )


def _check_input_fidelity(params: dict[str, Any]) -> None:
    if "input_fidelity" not in params:
        return
    model, fidelity = params["model"], params["input_fidelity"]
    supported = INPUT_FIDELITY_BY_MODEL.get(model, ())
    if not supported:
        raise _invalid(
            "input_fidelity",
            f"Unsupported parameter: 'input_fidelity' is not supported with the model '{model}'.",
            "unsupported_parameter",
        )
    if fidelity not in supported:
        raise _invalid(
            "input_fidelity",
            f"input_fidelity '{fidelity}' is not supported for model '{model}'.",
        )


def _check_uploaded_images(files: list[UploadedFile]) -> None:
    images = [f for f in files if f.field in ("image", "image[]")]
    others = [f for f in files if f.field not in ("image", "image[]")]
    if others:
        name = others[0].field
        raise _invalid(name, f"Unknown parameter: '{name}'.", "unknown_parameter")
    if not images:
        raise _invalid(
            "image", "Missing required parameter: 'image'.", "missing_required_parameter"
        )
    if len(images) > MAX_EDIT_IMAGES:
        raise _invalid(
            "image",
            f"Invalid 'image': too many images. Expected at most {MAX_EDIT_IMAGES} images, "
            f"but got {len(images)} instead.",
            "array_above_max_length",
        )
    for upload in images:
        if upload.content_type not in IMAGE_MIME_TYPES:
            raise _invalid(
                "image",
                f"Invalid file 'image': unsupported mimetype ('{upload.content_type}'). "
                "Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                "unsupported_file_mimetype",
            )
        _check_image_bytes(upload.data, IMAGE_MIME_TYPES[upload.content_type])


def _check_json_images(images: Any) -> None:
    if not isinstance(images, list) or not images:
        raise _invalid(
            "images", "Missing required parameter: 'images'.", "missing_required_parameter"
        )
    if len(images) > MAX_EDIT_IMAGES:
        raise _invalid(
            "images",
            f"Invalid 'images': array too long. Expected an array with maximum length "
            f"{MAX_EDIT_IMAGES}, but got an array with length {len(images)} instead.",
            "array_above_max_length",
        )
    for index, image in enumerate(images):
        param = f"images[{index}].image_url"
        url = image.get("image_url") if isinstance(image, dict) else None
        if not isinstance(url, str):
            raise _invalid(
                param, f"Missing required parameter: '{param}'.", "missing_required_parameter"
            )
        if len(url) > MAX_DATA_URL_CHARS:
            raise _invalid(
                param,
                f"Invalid '{param}': string too long. Expected a string with maximum length "
                f"{MAX_DATA_URL_CHARS}, but got a string with length {len(url)} instead.",
                "string_above_max_length",
            )
        match = re.fullmatch(r"data:(image/[a-z]+);base64,(.*)", url, re.DOTALL)
        if match is None or match.group(1) not in IMAGE_MIME_TYPES:
            raise _invalid(param, f"Invalid '{param}': expected a base64-encoded data URL.")
        try:
            data = base64.b64decode(match.group(2), validate=True)
        except binascii.Error as error:
            raise _invalid(param, f"Invalid '{param}': invalid base64 data.") from error
        _check_image_bytes(data, IMAGE_MIME_TYPES[match.group(1)])


def _check_image_bytes(data: bytes, pillow_format: str) -> None:
    if len(data) >= MAX_IMAGE_BYTES:
        raise _invalid(
            "image", "Invalid image: images must be smaller than 50MB.", "image_too_large"
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            real_format = image.format
    except Exception as error:
        raise _invalid(
            "image",
            "Invalid image file or mode for image 1, please check your image file.",
            "invalid_image_file",
        ) from error
    if real_format != pillow_format:
        raise _invalid(
            "image",
            f"Invalid file 'image': the file is {real_format}, not the declared type.",
            "invalid_image_file",
        )


def _json_images(params: dict[str, Any]) -> int:
    images = params.get("images")
    return len(images) if isinstance(images, list) else 0


def _make_answer(params: dict[str, Any], input_images: int, heavy: bool) -> dict[str, Any]:
    """An ImagesResponse with real images, and the raw images under "_images".

    Heavy images are random pixels, as large as real photographs get (a 1536x1024
    PNG of about 4.7 MB), for measuring memory; light ones are quick to make.
    """
    n = int(params.get("n", 1))
    size = params.get("size", "auto")
    width, height = (1024, 1024) if size == "auto" else map(int, size.split("x"))
    quality = params.get("quality", "auto")
    quality = "medium" if quality == "auto" else quality
    output_format = params.get("output_format", "png")
    background = params.get("background", "auto")
    background = "opaque" if background == "auto" or output_format == "jpeg" else background
    compression = int(params.get("output_compression", 100))
    if heavy:
        images = [_render_noise(width, height, output_format, index) for index in range(n)]
    else:
        prompt = params["prompt"]
        images = [
            _render(width, height, output_format, background, compression, prompt, index)
            for index in range(n)
        ]
    text_tokens = max(1, len(params["prompt"]) // 4)
    image_tokens = IMAGE_INPUT_TOKENS * input_images
    output_tokens = n * OUTPUT_TOKENS[quality] * (3 if max(width, height) > 1024 else 2) // 2
    return {
        "created": int(time.time()),
        "data": [{"b64_json": base64.b64encode(image).decode()} for image in images],
        "background": background,
        "output_format": output_format,
        "size": f"{width}x{height}",
        "quality": quality,
        **_effective_safety_identifier(params),
        "usage": {
            "input_tokens": text_tokens + image_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            "output_tokens": output_tokens,
            "total_tokens": text_tokens + image_tokens + output_tokens,
        },
        "_images": images,
    }


def _change_usage(usage: dict[str, Any], step: str) -> None:
    """What some answers report instead of the full usage."""
    if step == "usage-trimmed":
        del usage["input_tokens"], usage["input_tokens_details"]["text_tokens"]
    elif step in ("text-out", "text-out-total-trimmed"):
        usage["output_tokens"] += TEXT_OUTPUT_TOKENS
        usage["total_tokens"] += TEXT_OUTPUT_TOKENS
        image_tokens = usage["output_tokens"] - TEXT_OUTPUT_TOKENS
        usage["output_tokens_details"] = {
            "image_tokens": image_tokens,
            "text_tokens": TEXT_OUTPUT_TOKENS,
        }
        if step == "text-out-total-trimmed":
            del usage["output_tokens"]


def _effective_safety_identifier(params: dict[str, Any]) -> dict[str, str]:
    """ImagesResponse.safety_identifier: the non-empty safety_identifier, else `user`."""
    identifier = params.get("safety_identifier") or params.get("user")
    return {"safety_identifier": identifier} if identifier else {}


@functools.lru_cache(maxsize=32)
def _render_noise(width: int, height: int, output_format: str, index: int) -> bytes:
    pixels = random.Random(index).randbytes(width * height * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(buffer, output_format.upper())
    return buffer.getvalue()


@functools.lru_cache(maxsize=256)  # the same request makes the same images
def _render(
    width: int,
    height: int,
    output_format: str,
    background: str,
    compression: int,
    prompt: str,
    index: int,
) -> bytes:
    """A real image, different for each prompt and index, in the asked format."""
    mode = "RGBA" if background == "transparent" else "RGB"
    seed = hashlib.sha256(prompt.encode()).digest()
    colour = (seed[0], seed[1], (seed[2] + 40 * index) % 256)
    image = Image.new(mode, (width, height), colour + ((0,) if mode == "RGBA" else ()))
    image.paste(
        (255 - colour[0], 255 - colour[1], 255 - colour[2]), (0, 0, width // 2, height // 2)
    )
    caption = f"OpenAI stand-in, image {index + 1}: {prompt[:80]}"
    ImageDraw.Draw(image).text((24, height - 48), caption, fill=(255, 255, 255), font_size=24)
    buffer = io.BytesIO()
    if output_format == "png":
        image.save(buffer, "PNG", compress_level=1)
    else:
        image.save(buffer, output_format.upper(), quality=compression)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--heavy", action="store_true", help="photograph-sized images")
    parser.add_argument(
        "--today", type=date.fromisoformat, help="the date that decides which models are shut down"
    )
    parser.add_argument(
        "--gateway-key",
        action="append",
        default=[],
        help="act as a gateway that issues this key (repeatable)",
    )
    parser.add_argument(
        "--gateway-header",
        action="append",
        default=[],
        help="act as a gateway that requires this 'Name: value' header (repeatable)",
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=128,  # aiohttp's own default
        help="connections the kernel queues before accepting (uploads arrive all at once)",
    )
    args = parser.parse_args()
    gateway = None
    if args.gateway_key or args.gateway_header:
        headers = dict(
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in args.gateway_header)
        )
        gateway = Gateway(frozenset(args.gateway_key), headers)
    standin = StandIn(latency=args.latency, heavy=args.heavy, today=args.today, gateway=gateway)
    web.run_app(
        standin.app(),
        host="127.0.0.1",
        port=args.port,
        handler_cancellation=True,
        backlog=args.backlog,
    )


if __name__ == "__main__":
    main()
