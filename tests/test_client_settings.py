"""Unit tests: the shared client's settings, the caller's key, and what a caller's
message may say."""

import pytest
from openai import Omit

from gpt_image.errors import PredictionError, redact
from gpt_image.images_api import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    checked_api_key,
    make_client,
)
from gpt_image.settings import SettingError


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_TIMEOUT", raising=False)
    monkeypatch.delenv("OPENAI_MAX_RETRIES", raising=False)
    client = make_client()
    assert (client.timeout, client.max_retries) == (DEFAULT_TIMEOUT, DEFAULT_MAX_RETRIES)


def test_environment_sets_timeout_retries_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_TIMEOUT", "42.5")
    monkeypatch.setenv("OPENAI_MAX_RETRIES", "0")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://gateway.example/v1")
    client = make_client()
    assert (client.timeout, client.max_retries) == (42.5, 0)
    assert str(client.base_url) == "https://gateway.example/v1/"


@pytest.mark.parametrize(
    ("name", "value", "what"),
    [
        ("OPENAI_TIMEOUT", "soon", "a number of seconds above 0, such as 300"),
        ("OPENAI_TIMEOUT", "nan", "a number of seconds above 0, such as 300"),
        ("OPENAI_TIMEOUT", "inf", "a number of seconds above 0, such as 300"),
        ("OPENAI_TIMEOUT", "0", "a number of seconds above 0, such as 300"),
        ("OPENAI_TIMEOUT", "-5", "a number of seconds above 0, such as 300"),
        ("OPENAI_MAX_RETRIES", "-1", "a whole number of retries, 0 or more, such as 2"),
        ("OPENAI_MAX_RETRIES", "2.5", "a whole number of retries, 0 or more, such as 2"),
        ("OPENAI_MAX_RETRIES", "inf", "a whole number of retries, 0 or more, such as 2"),
    ],
)
def test_bad_settings_stop_setup_with_one_sentence(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, what: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as refused:
        make_client()
    assert str(refused.value) == f"{name} must be {what}, not {value!r}."


def test_operator_identity_is_never_picked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-operator")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_operator")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "X-Operator: secret")
    client = make_client().with_options(api_key="sk-caller-0123456789abcdef")
    headers = {name.lower(): value for name, value in client.default_headers.items()}
    assert "x-operator" not in headers
    assert isinstance(headers["openai-organization"], Omit)
    assert isinstance(headers["openai-project"], Omit)


KEY = "sk-caller-0123456789abcdef"


def test_keys_are_trimmed_and_checked() -> None:
    assert checked_api_key(f"  {KEY}\n") == KEY
    for bad in (None, "", "   ", "sk-a b" + KEY, KEY + "ä", "e", "sk-abc123"):
        with pytest.raises(PredictionError, match="openai_api_key"):
            checked_api_key(bad)


def test_redaction_removes_keys_but_no_ordinary_words() -> None:
    text = f"key {KEY} and masked sk-cal***cdef; scikit is sk-learn, every word stays"
    assert redact(text, KEY) == (
        "key [redacted] and masked [redacted]; scikit is sk-learn, every word stays"
    )
    assert redact("every e stays", "e") == "every e stays"  # too short to be a key


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("This project has been cancelled.", "This project has been called off."),
        ("Request CANCELED upstream", "Request CALLED OFF upstream"),
        ("Cancellation of the account", "Calling off of the account"),
        ("we cancel it", "we call off it"),
    ],
)
def test_failure_messages_never_say_cancel(text: str, said: str) -> None:
    message = str(PredictionError(text))
    assert message == said
    assert "cancel" not in message.lower()
