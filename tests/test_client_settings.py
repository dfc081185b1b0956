"""Unit tests: the shared client's settings come from the environment."""

import pytest

from gpt_image.errors import PredictionError
from gpt_image.images_api import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, checked_api_key, make_client


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
    ("name", "value"), [("OPENAI_TIMEOUT", "soon"), ("OPENAI_MAX_RETRIES", "-1")]
)
def test_bad_settings_stop_setup_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"{name} must be a non-negative"):
        make_client()


def test_keys_are_trimmed_and_checked() -> None:
    assert checked_api_key("  sk-abc123\n") == "sk-abc123"
    for bad in (None, "", "   ", "sk-a b", "sk-ä"):
        with pytest.raises(PredictionError, match="openai_api_key"):
            checked_api_key(bad)
