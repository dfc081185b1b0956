"""Failures explained for the caller: what happened and what to do, in one or two
sentences, and never with the API key in them."""

import re
from datetime import date

import httpx2
import openai

from gpt_image.models import DEFAULT_MODEL, ModelInfo

# No API key is shorter: OpenAI's own are 51 characters or more, and gateways
# reached through OPENAI_BASE_URL issue keys of 20 and up.
MIN_KEY_CHARS = 20
# OpenAI keys, whole or masked the way OpenAI echoes them ("sk-ab***cd"), but not
# words such as "sk-learn".
KEY_PATTERN = re.compile(r"\bsk-(?:[A-Za-z0-9_\-]*\*[A-Za-z0-9_\-*]*|[A-Za-z0-9_\-]{16,})")
SAFETY_VIOLATIONS = re.compile(r"safety_violations=\[([^\]]*)\]")
# coglet 0.23.1 reports a failed prediction as canceled, and drops its error, when
# the error's text contains "cancelled" (crates/coglet-python/src/worker_bridge.rs).
# OpenAI's or a gateway's words reach the caller, so every spelling is rewritten.
CANCEL_WORDS = re.compile(r"(?i)cancel(l?ed|l?ing|l?ation|s)?")
CALLED_OFF = {"": "call off", "s": "calls off", "ed": "called off", "ing": "calling off"}


class PredictionError(Exception):
    """A failure the caller can act on; the message is written for them.

    Its text never says "cancel" in any spelling, so cog cannot mistake the
    failure for a cancellation (see CANCEL_WORDS).
    """

    def __init__(self, message: str) -> None:
        super().__init__(without_cancel_words(message))


def without_cancel_words(text: str) -> str:
    """Say "called off" where the text says "cancelled", "Canceled", "CANCELLATION"…"""
    return CANCEL_WORDS.sub(_called_off, text)


def _called_off(match: re.Match[str]) -> str:
    ending = (match.group(1) or "").lower().removeprefix("l").replace("ation", "ing")
    words = CALLED_OFF[ending]
    found = match.group(0)
    if found.isupper():
        return words.upper()
    return words.capitalize() if found[0].isupper() else words


def redact(text: str, key: str) -> str:
    """Remove the key, and anything shaped like an OpenAI key, from text."""
    if len(key) >= MIN_KEY_CHARS:  # a shorter one is refused before any request
        text = text.replace(key, "[redacted]")
    return KEY_PATTERN.sub("[redacted]", text)


def explain_api_error(
    error: openai.APIError, client: openai.AsyncOpenAI, model: ModelInfo, today: date
) -> str:
    """One or two sentences for an error the openai SDK raised."""
    retries = _retries(client.max_retries)
    if isinstance(error, openai.APITimeoutError):
        return (
            f"OpenAI did not answer within {_seconds(client.timeout)} seconds ({retries}). "
            "Try again, or allow longer with OPENAI_TIMEOUT."
        )
    if isinstance(error, openai.APIConnectionError):
        return (
            f"Could not reach OpenAI at {_without_credentials(client.base_url)} ({retries}). "
            "Check the network, or OPENAI_BASE_URL if you use a proxy."
        )
    if isinstance(error, openai.APIResponseValidationError):
        return "OpenAI's answer was not a valid image response. Try again."
    if not isinstance(error, openai.APIStatusError):
        return f"OpenAI request failed: {error.message}"

    message = _openai_message(error)
    if isinstance(error, openai.AuthenticationError):
        return (
            "OpenAI rejected the API key (401). Check openai_api_key: "
            "it must be an active key from https://platform.openai.com/api-keys."
        )
    if isinstance(error, openai.PermissionDeniedError):
        if "verif" in message.lower():
            return (
                f"Your OpenAI organization must be verified to use {model.name}. Verify it at "
                "https://platform.openai.com/settings/organization/general; access can take "
                "up to 15 minutes to arrive after verification."
            )
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
    """Why OpenAI has no such model, from what the model table knows of its lifecycle."""
    if model.shutdown is None:
        return (
            f"OpenAI has no model {model.name} for this key: the name is wrong or your account "
            f"lacks access. Choose another with OPENAI_IMAGE_MODEL, such as {DEFAULT_MODEL}."
        )
    day, advice = model.shutdown.day.isoformat(), model.shutdown.advice()
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


def _without_credentials(url: httpx2.URL) -> str:
    """The URL without user, password or query, where a gateway may keep a token."""
    return str(url.copy_with(username=None, password=None, query=None))


def _retries(count: int) -> str:
    if count == 0:
        return "with retries off"
    return f"after {count} {'retry' if count == 1 else 'retries'}"


def _seconds(timeout: object) -> str:
    seconds = getattr(timeout, "read", timeout)
    return f"{seconds:g}" if isinstance(seconds, int | float) else str(seconds)
