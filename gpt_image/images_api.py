"""The calls to OpenAI's Images API, through the official async SDK.

Each call logs what it sends (never the key or the images), which the caller
sees in the prediction's logs.
"""

import math
import os
import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, ExitStack, asynccontextmanager
from typing import Any, TypeVar

import httpx2
from openai import AsyncAPIResponse, AsyncOpenAI, DefaultAsyncHttpxClient
from openai.types import ImagesResponse

from gpt_image.errors import AnswerTimedOut, PredictionError, is_openai, without_credentials
from gpt_image.inputs import InputImage
from gpt_image.request import (
    ImageOptions,
    JsonEditBody,
    generation_params,
    json_edit_params,
    multipart_edit_params,
    use_json_edit,
)
from gpt_image.settings import SettingError, setting

# The header the SDK's `with_streaming_response` sets; post() has no such wrapper.
RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"
# Seconds to wait for each attempt: a high-quality 1536x1024 image can take two minutes.
DEFAULT_TIMEOUT = 300.0
# The SDK retries 408, 409, 429, 5xx, failed connections and requests it could not
# send in time, honouring retry-after: none of these made an image, so none is
# billed. A request OpenAI got but did not answer in time is not retried
# (TimeoutsNotResent).
DEFAULT_MAX_RETRIES = 2
# The shared client never sends this: every prediction uses its caller's key.
NO_KEY = "no-key-set-use-a-predictions-own-key"
T = TypeVar("T")
# A request on its way: entered, it yields OpenAI's 200 answer, unread.
Request = AbstractAsyncContextManager[AsyncAPIResponse[ImagesResponse]]
LOGGED_PARAMS = (
    "model",
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "moderation",
    "input_fidelity",
)


# What the SDK would read from the container's environment and send with every
# request: the operator's organization, project and headers, on callers' keys.
OPERATOR_IDENTITY = ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_CUSTOM_HEADERS")
# Headers a gateway requires of its own, such as Cloudflare AI Gateway's
# cf-aig-authorization: one "Name: value" a line, as the SDK reads OPENAI_CUSTOM_HEADERS.
GATEWAY_HEADERS = "OPENAI_GATEWAY_HEADERS"
# Headers that would put someone else's identity on a caller's key.
NOT_GATEWAY_HEADERS = {
    "authorization": "it carries each caller's key",
    "openai-organization": "a caller's key carries its own organization",
    "openai-project": "a caller's key carries its own project",
}
# RFC 9110: a header name is a token; a value is visible characters, spaces and tabs.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
HEADER_VALUE = re.compile(r"[\x20-\x7e\t]+")
# Gateway headers whose values are switches and names, not secrets, left in messages
# so that a word such as "openai" or "true" is not redacted everywhere: Cloudflare
# AI Gateway's cache and log settings (seconds, milliseconds, true or false),
# Helicone's cache switch, Portkey's provider name. Every other header's value may
# be a credential, whatever its name ("X-Tenant-Pass"), and is never shown.
SHOWN_GATEWAY_HEADERS = frozenset(
    {
        "cf-aig-cache-ttl",
        "cf-aig-skip-cache",
        "cf-aig-collect-log",
        "cf-aig-request-timeout",
        "helicone-cache-enabled",
        "x-portkey-provider",
    }
)


def make_client() -> AsyncOpenAI:
    """The one client every prediction shares, so connections are pooled.

    OPENAI_BASE_URL (read by the SDK) points it at a proxy or gateway, and
    OPENAI_GATEWAY_HEADERS adds the gateway's headers; OPENAI_TIMEOUT and
    OPENAI_MAX_RETRIES tune it.
    """
    timeout = setting(
        "OPENAI_TIMEOUT",
        DEFAULT_TIMEOUT,
        float,
        lambda seconds: math.isfinite(seconds) and seconds > 0,
        "a number of seconds above 0, such as 300",
    )
    max_retries = setting(
        "OPENAI_MAX_RETRIES",
        DEFAULT_MAX_RETRIES,
        int,
        lambda count: count >= 0,
        "a whole number of retries, 0 or more, such as 2",
    )
    headers = gateway_headers()
    _forget_operator_identity()
    client = AsyncOpenAI(
        api_key=NO_KEY,
        timeout=timeout,
        max_retries=max_retries,
        http_client=TimeoutsNotResent(timeout=timeout),
    )
    if not headers:
        return client
    where = without_credentials(client.base_url)
    if is_openai(client.base_url):
        print(
            f"{GATEWAY_HEADERS} is set but not sent: requests go to OpenAI itself ({where}), "
            "which must never get a gateway's headers."
        )
        return client
    print(f"{GATEWAY_HEADERS}: sending {', '.join(headers)} with every request to {where}")
    return client.with_options(default_headers=headers)


class TimeoutsNotResent(DefaultAsyncHttpxClient):
    """The SDK's own HTTP client, except that a request sent whole but not answered
    within the timeout ends as AnswerTimedOut, which the SDK passes on without
    sending it again: OpenAI answers only once the images are made, so it may still
    make them, and bill them, whatever the SDK does. A request that timed out
    connecting or sending reached no model, and the SDK still retries it."""

    async def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        try:
            return await super().send(request, **kwargs)
        except httpx2.ReadTimeout as error:  # waiting for the answer's first bytes
            raise AnswerTimedOut(request) from error


def gateway_headers() -> dict[str, str]:
    """The headers OPENAI_GATEWAY_HEADERS names; no message ever shows a value."""
    headers: dict[str, str] = {}
    lines = os.environ.get(GATEWAY_HEADERS, "").split("\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        name, colon, value = (part.strip() for part in line.partition(":"))
        if not (colon and HEADER_NAME.fullmatch(name) and HEADER_VALUE.fullmatch(value)):
            raise SettingError(
                f"{GATEWAY_HEADERS} must be lines of 'Name: value', such as "
                f"'cf-aig-authorization: Bearer <token>'; line {number} is not."
            )
        if name.lower() in NOT_GATEWAY_HEADERS:
            raise SettingError(
                f"{GATEWAY_HEADERS} cannot set {name}: {NOT_GATEWAY_HEADERS[name.lower()]}."
            )
        headers[name] = value
    return headers


def gateway_secrets() -> tuple[str, ...]:
    """The values of the gateway's headers, whole and after their scheme ("Bearer
    <token>"), but those of SHOWN_GATEWAY_HEADERS: what must be redacted like the
    caller's key."""
    values = [
        value
        for name, value in gateway_headers().items()
        if name.lower() not in SHOWN_GATEWAY_HEADERS
    ]
    return (*values, *(value.partition(" ")[2] for value in values))


def _forget_operator_identity() -> None:
    """Every prediction goes out under the key that pays for it alone.

    A caller's key belongs to the caller's organization and project; sending the
    container's with it would bill the wrong project or be refused. The operator's
    own key, where it may pay (the gpt-image-2 interface), carries its own too. The SDK reads
    these again whenever a per-prediction client is made, so they are removed from
    this process's environment rather than overridden.
    """
    for name in OPERATOR_IDENTITY:
        if os.environ.pop(name, None) is not None:
            hint = f" A gateway's headers go in {GATEWAY_HEADERS}." if "HEADERS" in name else ""
            print(
                f"{name} is set but not used: each prediction is sent with the key that pays "
                f"for it alone, which carries its own organization and project.{hint}"
            )


def checked_api_key(value: str | None) -> str:
    """The caller's key, trimmed; refused only if no HTTP header could carry it.

    Gateways issue keys of any length and shape (LiteLLM's "sk-1234", vLLM's and
    Ollama's "anything goes"), so nothing else is asked of it.
    """
    key = (value or "").strip()
    if not key:
        raise PredictionError("openai_api_key is empty. Pass your OpenAI API key.")
    if not re.fullmatch(r"[\x21-\x7e]+", key):
        raise PredictionError(
            "openai_api_key contains spaces, line breaks or other characters no API key "
            "has. Copy the key again and try again."
        )
    return key


def operator_key() -> str | None:
    """The container's own key (OPENAI_API_KEY), for predictions that bring none.

    The SDK never reads it: the shared client is made with NO_KEY, and each
    prediction's client with the key chosen for it.
    """
    value = os.environ.get("OPENAI_API_KEY", "").strip()
    if not value:
        return None
    try:
        return checked_api_key(value)
    except PredictionError:
        raise SettingError(
            "OPENAI_API_KEY is set but cannot be an API key: set it to the whole key, or remove it."
        ) from None


def choose_key(
    caller: str | None, operator: str | None, operator_may_pay: bool
) -> tuple[str, bool]:
    """The key a prediction is sent with, and whether it is the operator's.

    The caller's own key always wins; without one, the operator's pays where the
    interface allows it.
    """
    if (caller or "").strip() or not operator_may_pay:
        return checked_api_key(caller), False
    if operator is None:
        raise PredictionError(
            "No OpenAI API key: pass openai_api_key, since this server has no key of its "
            "own (OPENAI_API_KEY) to pay with."
        )
    return operator, True


def request(
    client: AsyncOpenAI, options: ImageOptions, model: str, images: list[InputImage]
) -> Request:
    """An edit of the input images, or a generation when there are none."""
    if images:
        return edit(client, options, model, images)
    return generate(client, options, model)


@asynccontextmanager
async def generate(
    client: AsyncOpenAI, options: ImageOptions, model: str
) -> AsyncIterator[AsyncAPIResponse[ImagesResponse]]:
    """POST /v1/images/generations; yields the answer unread, to be streamed."""
    params = generation_params(options, model)
    print(f"POST /v1/images/generations {_describe(params)}")
    async with client.images.with_streaming_response.generate(**params) as response:
        yield response


@asynccontextmanager
async def edit(
    client: AsyncOpenAI, options: ImageOptions, model: str, images: list[InputImage]
) -> AsyncIterator[AsyncAPIResponse[ImagesResponse]]:
    """POST /v1/images/edits, as JSON when only that form honours every input; yields
    the answer unread, to be streamed."""
    if use_json_edit(options, images):
        print(f"POST /v1/images/edits (JSON) {_describe(json_edit_params(options, model))}")
        body = JsonEditBody(options, model, images)
        # The SDK's edit() speaks multipart only; post() keeps its authentication,
        # retries and error types.
        headers = {
            RAW_RESPONSE_HEADER: "stream",
            "Content-Type": "application/json",
            "Content-Length": str(body.length),
        }
        response = await client.post(
            "/images/edits",
            content=body,  # type: ignore[arg-type]  # any re-iterable byte stream
            cast_to=AsyncAPIResponse[ImagesResponse],
            options={"headers": headers},
        )
        try:
            yield response
        finally:
            await response.close()
        return

    if options.moderation != "auto":
        print(
            f"moderation '{options.moderation}' was not applied: an image is too large for "
            "the JSON form of the request, the only one with a moderation field."
        )
    params = multipart_edit_params(options, model)
    print(f"POST /v1/images/edits (multipart) {_describe(params)}")
    with ExitStack() as open_files:  # streamed from disk; rewound by the SDK for a retry
        files = [image.upload_file(open_files.enter_context(image.open())) for image in images]
        async with client.images.with_streaming_response.edit(image=files, **params) as response:
            yield response


def _describe(params: dict[str, Any]) -> str:
    return " ".join(f"{name}={params[name]}" for name in LOGGED_PARAMS if name in params)
