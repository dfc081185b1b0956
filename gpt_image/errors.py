"""Failures explained for the caller: what happened and what to do, in one or two
sentences, and never with the API key in them."""

import re
from datetime import date

import httpx2
import openai

from gpt_image.models import ModelInfo

# A key shorter than this may be a word ("anything", LiteLLM's documented key for a
# proxy without auth), so it is redacted only where it stands as a word of its own;
# a longer one is no word, and is redacted wherever it appears.
WORDLIKE_KEY_CHARS = 20
# What may stand next to a key inside one word.
WORD_CHAR = r"[\w-]"
# OpenAI keys, whole or masked the way OpenAI and gateways echo them ("sk-ab***cd",
# "sk-...8aSP"), but not words such as "sk-learn".
KEY_PATTERN = re.compile(r"\bsk-(?:[\w-]*(?:\*|\.{3}|…)[\w*-]*|[\w-]{16,})")
# A word with a mask in it: the visible start and end of a secret, whatever its shape.
MASKED = re.compile(
    rf"(?<!{WORD_CHAR})({WORD_CHAR}*)(?:\*+|\.{{3,}}|…+)({WORD_CHAR}*)(?!{WORD_CHAR})"
)
SAFETY_VIOLATIONS = re.compile(r"safety_violations=\[([^\]]*)\]")
# coglet 0.23.1 reports a failed async prediction as canceled, and drops its error,
# when the error's text contains "cancelled" or "CancelledError", case-sensitively
# (crates/coglet-python/src/worker_bridge.rs). Only those are respelled, with one l.
COGLET_CANCEL_WORDS = re.compile(r"(?<=cancel)l(?=ed)|(?<=Cancel)l(?=edError)")
OPENAI_HOST = "api.openai.com"


class AnswerTimedOut(openai.APITimeoutError):
    """OpenAI got the whole request but did not answer within OPENAI_TIMEOUT.

    It answers only once the images are made, so it may still make them and bill
    them: such a request is never sent again.
    """


class PredictionError(Exception):
    """A failure the caller can act on; the message is written for them.

    Its text never has the words that make cog mistake the failure for a
    cancellation (see COGLET_CANCEL_WORDS).
    """

    def __init__(self, message: str) -> None:
        super().__init__(COGLET_CANCEL_WORDS.sub("", message))


def redact(text: str, *secrets: str) -> str:
    """Remove the secrets (the caller's key, gateway header values), whole or masked,
    and anything shaped like an OpenAI key, from text."""
    secrets = tuple(filter(None, secrets))
    text = MASKED.sub(lambda found: _unless_masked(found, secrets), text)
    for secret in secrets:
        text = _whole(secret).sub("[redacted]", text)
    return KEY_PATTERN.sub("[redacted]", text)


def _whole(secret: str) -> re.Pattern[str]:
    if len(secret) >= WORDLIKE_KEY_CHARS:
        return re.compile(re.escape(secret))
    # Not inside a longer word: the key "anything" leaves "anythingness" alone.
    before = f"(?<!{WORD_CHAR})" if re.match(WORD_CHAR, secret[0]) else ""
    after = f"(?!{WORD_CHAR})" if re.match(WORD_CHAR, secret[-1]) else ""
    return re.compile(before + re.escape(secret) + after)


def _unless_masked(found: re.Match[str], secrets: tuple[str, ...]) -> str:
    """The masked word found, or [redacted] if what it shows is a secret's start and end."""
    start, end = found.groups()
    for secret in secrets:
        if (start or end) and secret.startswith(start) and secret.endswith(end):
            return "[redacted]"
    return found.group(0)


def operator_key_rejected(base_url: httpx2.URL) -> str:
    """The 401 for the server's own key, paying for a caller who brought none."""
    who = "OpenAI" if is_openai(base_url) else f"The gateway at {without_credentials(base_url)}"
    return (
        f"{who} rejected this server's own key (401): pass your own openai_api_key, or ask "
        "the server's operator to fix OPENAI_API_KEY."
    )


def is_openai(url: httpx2.URL) -> bool:
    """Whether requests go to OpenAI itself, in any of its regions, not a gateway."""
    host = url.host.lower()
    return host == OPENAI_HOST or host.endswith(f".{OPENAI_HOST}")


def without_credentials(url: httpx2.URL) -> str:
    """The URL without user, password or query, where a gateway may keep a token."""
    return str(url.copy_with(username=None, password=None, query=None))


def explain_api_error(
    error: openai.APIError, client: openai.AsyncOpenAI, model: ModelInfo, today: date
) -> str:
    """One or two sentences for an error the openai SDK raised."""
    retries = _retries(client.max_retries)
    seconds = _seconds(client.timeout)
    if isinstance(error, AnswerTimedOut):
        return (
            f"OpenAI did not answer within {seconds} seconds, and the request was not sent "
            "again: OpenAI may still have made the images and billed them. Check your usage "
            "before trying again, or allow longer with OPENAI_TIMEOUT."
        )
    if isinstance(error, openai.APITimeoutError):  # connecting or sending: nothing was made
        return (
            f"Could not send the request to OpenAI within {seconds} seconds ({retries}). "
            "Try again, or allow longer with OPENAI_TIMEOUT."
        )
    if isinstance(error, openai.APIConnectionError):
        return (
            f"Could not reach OpenAI at {without_credentials(client.base_url)} ({retries}). "
            "Check the network, or OPENAI_BASE_URL if you use a proxy."
        )
    if isinstance(error, openai.APIResponseValidationError):
        return "OpenAI's answer was not a valid image response. Try again."
    if not isinstance(error, openai.APIStatusError):
        return f"OpenAI request failed: {error.message}"

    message = _openai_message(error)
    refused = isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError)
    if isinstance(error, openai.PermissionDeniedError) and "verif" in message.lower():
        return (  # OpenAI's words, whether a gateway passed them on or not
            f"Your OpenAI organization must be verified to use {model.name}. Verify it at "
            "https://platform.openai.com/settings/organization/general; access can take "
            "up to 15 minutes to arrive after verification."
        )
    if refused and not is_openai(client.base_url):
        # A gateway's own key or header was refused, or it passed on OpenAI's refusal:
        # its words say which.
        return (
            f"The gateway at {without_credentials(client.base_url)} refused the request "
            f"({error.status_code}): {message}"
        )
    if isinstance(error, openai.AuthenticationError):
        return (
            "OpenAI rejected the API key (401). Check openai_api_key: "
            "it must be an active key from https://platform.openai.com/api-keys."
        )
    if isinstance(error, openai.PermissionDeniedError):
        return f"OpenAI refused access (403): {message}"
    if isinstance(error, openai.NotFoundError) and error.code == "model_not_found":
        return _model_not_found_message(model, today)
    if error.code == "moderation_blocked":
        return _moderation_message(message, error.param)
    if isinstance(error, openai.RateLimitError):
        if error.code == "insufficient_quota":
            return (
                "Your OpenAI account is out of quota (429 insufficient_quota). Add credit or "
                "raise your limits at https://platform.openai.com/settings/organization/billing."
            )
        return (
            f"OpenAI's rate limit for your account was still exceeded {retries}. "
            "Wait a minute and try again, or send fewer requests at once."
        )
    if isinstance(error, openai.InternalServerError):
        return f"OpenAI had a server error ({error.status_code}) {retries}. Try again later."
    parameter = f" (parameter: {error.param})" if error.param else ""
    return f"OpenAI rejected the request ({error.status_code}){parameter}: {message}"


def _model_not_found_message(model: ModelInfo, today: date) -> str:
    """Why OpenAI has no such model, from what the model table knows of its lifecycle.

    The advice is for whoever runs the container: a caller on Replicate cannot set
    its environment.
    """
    if model.shutdown is None:
        return (
            f"OpenAI has no model {model.name} for this key: the name is wrong or your account "
            "lacks access. Whoever runs this model can choose another with OPENAI_IMAGE_MODEL."
        )
    day = model.shutdown.day.isoformat()
    advice = (
        "Whoever runs this model can set OPENAI_IMAGE_MODEL to its successor, "
        f"{' or '.join(model.shutdown.successors)}."
    )
    if today >= model.shutdown.day:
        return f"OpenAI shut {model.name} down on {day}. {advice}"
    return (
        f"OpenAI has no model {model.name} for this key; its shutdown is announced for "
        f"{day}. {advice}"
    )


def _openai_message(error: openai.APIStatusError) -> str:
    """OpenAI's own message, or the start of a body that was not OpenAI's JSON."""
    if isinstance(error.body, dict) and isinstance(error.body.get("message"), str):
        return error.body["message"]  # the SDK passes OpenAI's {"error": {...}} contents
    text = error.response.text.strip() or "no message"
    return text[:200]


def _moderation_message(message: str, param: str | None) -> str:
    side = ""
    if param in ("image", "images") or "input image" in message.lower():
        side = " in the input images"
    elif "generated" in message.lower() or "output" in message.lower():
        side = " in the generated image"
    elif param == "prompt" or "prompt" in message.lower():
        side = " in the prompt"
    found = SAFETY_VIOLATIONS.search(message)
    categories = f" ({found.group(1)})" if found else ""
    return (
        f"OpenAI's safety system blocked this request: it found content{side} it does not "
        f"allow{categories}. Change the prompt or images; moderation='low' is the only "
        "setting that relaxes the filter."
    )


def _retries(count: int) -> str:
    if count == 0:
        return "with retries off"
    return f"after {count} {'retry' if count == 1 else 'retries'}"


def _seconds(timeout: object) -> str:
    seconds = getattr(timeout, "read", timeout)
    return f"{seconds:g}" if isinstance(seconds, int | float) else str(seconds)
