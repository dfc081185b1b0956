"""Unit tests: the openai SDK's errors, explained for the caller without the key."""

from datetime import date

import httpx2
import openai
import pytest

from gpt_image.errors import explain_api_error, operator_key_rejected, redact
from gpt_image.models import DEFAULT_MODEL, model_info

CLIENT = openai.AsyncOpenAI(api_key="unused", base_url="https://api.openai.com/v1", max_retries=2)
# A gateway whose URL carries credentials, as some let it.
GATEWAY = openai.AsyncOpenAI(
    api_key="unused", base_url="https://user:hunter2@gateway.example/v1?token=abc", max_retries=2
)
REQUEST = httpx2.Request("POST", "https://api.openai.com/v1/images/generations")
TODAY = date(2026, 11, 25)


def explain(
    error: openai.APIError,
    model: str = DEFAULT_MODEL,
    today: date = TODAY,
    client: openai.AsyncOpenAI = CLIENT,
) -> str:
    return explain_api_error(error, client, model_info(model), today)


def status_error(cls: type, status: int, **error: object) -> openai.APIStatusError:
    body = {"message": "", "type": "invalid_request_error", "param": None, "code": None, **error}
    response = httpx2.Response(status, json={"error": body}, request=REQUEST)
    return cls(f"Error code: {status}", response=response, body=body)


CASES = [
    (
        status_error(
            openai.AuthenticationError, 401, message="Incorrect API key provided: sk-ab***cd."
        ),
        "OpenAI rejected the API key (401). Check openai_api_key: it must be an active key "
        "from https://platform.openai.com/api-keys.",
    ),
    (
        status_error(
            openai.BadRequestError,
            400,
            code="moderation_blocked",
            message="Your request was rejected by the safety system. safety_violations=[violence].",
        ),
        "OpenAI's safety system blocked this request: it found content it does not allow "
        "(violence). Change the prompt or images; moderation='low' is the only setting that "
        "relaxes the filter.",
    ),
    (
        status_error(
            openai.BadRequestError,
            400,
            code="moderation_blocked",
            param="image",
            message="Your request was rejected by the safety system.",
        ),
        "OpenAI's safety system blocked this request: it found content in the input images it "
        "does not allow. Change the prompt or images; moderation='low' is the only setting that "
        "relaxes the filter.",
    ),
    (
        status_error(openai.BadRequestError, 400, param="n", message="Invalid 'n'."),
        "OpenAI rejected the request (400) (parameter: n): Invalid 'n'.",
    ),
    (
        status_error(openai.InternalServerError, 502, message="Bad gateway."),
        "OpenAI had a server error (502) after 2 retries. Try again later.",
    ),
    (
        openai.APITimeoutError(REQUEST),  # connecting or sending: retried
        "Could not send the request to OpenAI within 600 seconds (after 2 retries). Try again, "
        "or allow longer with OPENAI_TIMEOUT.",
    ),
    (
        openai.APIConnectionError(request=REQUEST),
        "Could not reach OpenAI at https://api.openai.com/v1/ (after 2 retries). Check the "
        "network, or OPENAI_BASE_URL if you use a proxy.",
    ),
]


@pytest.mark.parametrize(("error", "expected"), CASES)
def test_errors_are_explained(error: openai.APIError, expected: str) -> None:
    assert explain(error) == expected


LITELLM_401 = (
    "Authentication Error, Invalid proxy server token passed. Received API Key = sk-...1234. "
    "Unable to find token in cache or `LiteLLM_VerificationTokenTable`"
)


@pytest.mark.parametrize(
    ("cls", "status", "message"),
    [
        (openai.AuthenticationError, 401, LITELLM_401),
        (openai.PermissionDeniedError, 403, "Key not allowed to access model."),
    ],
)
def test_a_gateway_that_refuses_is_named_with_its_words(
    cls: type, status: int, message: str
) -> None:
    error = status_error(cls, status, message=message, code=str(status))
    assert explain(error, client=GATEWAY) == (
        f"The gateway at https://gateway.example/v1/ refused the request ({status}): {message}"
    )


def test_openais_verification_advice_survives_a_gateway() -> None:
    error = status_error(
        openai.PermissionDeniedError, 403, message="Your organization must be verified to use..."
    )
    assert explain(error, client=GATEWAY).startswith(
        f"Your OpenAI organization must be verified to use {DEFAULT_MODEL}."
    )


def test_a_body_that_is_not_openais_json_is_quoted_briefly() -> None:
    response = httpx2.Response(418, text="<html>" + "x" * 500, request=REQUEST)
    error = openai.APIStatusError("Error code: 418", response=response, body=None)
    message = explain(error)
    assert message.startswith("OpenAI rejected the request (418): <html>xxx")
    assert len(message) < 260


@pytest.mark.parametrize(
    "text",
    [
        "key sk-proj-abcdefghijklmnop123 leaked",
        "masked sk-pro***********wxyz echoed",
        "the exact secret-key-without-prefix leaked",
    ],
)
def test_keys_are_redacted(text: str) -> None:
    redacted = redact(text, "secret-key-without-prefix")
    assert "[redacted]" in redacted
    assert "sk-pro" not in redacted and "secret-key" not in redacted


def test_connection_errors_do_not_show_credentials_in_the_base_url() -> None:
    client = openai.AsyncOpenAI(
        api_key="unused", base_url="https://user:hunter2@gateway.example/v1?token=abc"
    )
    message = explain(openai.APIConnectionError(request=REQUEST), client=client)
    assert "https://gateway.example/v1/" in message
    assert "hunter2" not in message and "token" not in message and "user" not in message


MODEL_NOT_FOUND = status_error(
    openai.NotFoundError, 404, code="model_not_found", message="no such model"
)


@pytest.mark.parametrize(
    ("model", "today", "expected"),
    [
        (
            "gpt-image-1",
            TODAY,
            "OpenAI shut gpt-image-1 down on 2026-10-23. Whoever runs this model can set "
            "OPENAI_IMAGE_MODEL to its successor, gpt-image-2.5-sunburst or gpt-image-2.5-flare.",
        ),
        (
            "gpt-image-1.5",
            date(2026, 12, 1),
            "OpenAI shut gpt-image-1.5 down on 2026-12-01. Whoever runs this model can set "
            "OPENAI_IMAGE_MODEL to its successor, gpt-image-2.6-sunburst or gpt-image-2.6-flare.",
        ),
        (
            "gpt-image-1-mini",
            TODAY,  # gone before its announced day
            "OpenAI has no model gpt-image-1-mini for this key; its shutdown is announced for "
            "2026-12-01. Whoever runs this model can set OPENAI_IMAGE_MODEL to its successor, "
            "gpt-image-2.6-sunburst or gpt-image-2.6-flare.",
        ),
        (
            "dall-e-3",
            TODAY,
            "OpenAI shut dall-e-3 down on 2026-05-12. Whoever runs this model can set "
            "OPENAI_IMAGE_MODEL to its successor, gpt-image-2.5-sunburst.",
        ),
        (
            "gpt-image-2.6-flare",
            TODAY,
            "OpenAI has no model gpt-image-2.6-flare for this key: the name is wrong or your "
            "account lacks access. Whoever runs this model can choose another with "
            "OPENAI_IMAGE_MODEL.",
        ),
        (
            "gpt-image-9",
            TODAY,
            "OpenAI has no model gpt-image-9 for this key: the name is wrong or your account "
            "lacks access. Whoever runs this model can choose another with OPENAI_IMAGE_MODEL.",
        ),
    ],
)
def test_missing_model_is_explained_from_its_lifecycle(
    model: str, today: date, expected: str
) -> None:
    assert explain(MODEL_NOT_FOUND, model, today) == expected


def test_the_default_model_missing_is_not_advised_as_its_own_fix() -> None:
    message = explain(MODEL_NOT_FOUND, DEFAULT_MODEL)
    assert message == (
        f"OpenAI has no model {DEFAULT_MODEL} for this key: the name is wrong or your account "
        "lacks access. Whoever runs this model can choose another with OPENAI_IMAGE_MODEL."
    )


@pytest.mark.parametrize(
    ("base_url", "who"),
    [
        ("https://api.openai.com/v1", "OpenAI"),
        (
            "https://user:secret@gateway.example/v1?token=t",
            "The gateway at https://gateway.example/v1",
        ),
    ],
)
def test_the_servers_own_key_rejected_names_who_rejected_it(base_url: str, who: str) -> None:
    assert operator_key_rejected(httpx2.URL(base_url)) == (
        f"{who} rejected this server's own key (401): pass your own openai_api_key, or ask "
        "the server's operator to fix OPENAI_API_KEY."
    )
