"""Unit tests: the shared client's settings, the caller's key, and what a caller's
message may say."""

import pytest
from openai import Omit

from gpt_image.errors import PredictionError, redact
from gpt_image.images_api import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    checked_api_key,
    gateway_secrets,
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


CLOUDFLARE = "https://gateway.ai.cloudflare.com/v1/account-id/gateway-id/openai"
CF_HEADER = "cf-aig-authorization: Bearer cf-token-0123"


def test_gateway_headers_go_to_a_gateway_and_are_named_not_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", CLOUDFLARE)
    monkeypatch.setenv("OPENAI_GATEWAY_HEADERS", f"{CF_HEADER}\n\nx-portkey-provider:openai \r")
    client = make_client().with_options(api_key="sk-1234")
    assert client.default_headers["cf-aig-authorization"] == "Bearer cf-token-0123"
    assert client.default_headers["x-portkey-provider"] == "openai"
    assert capsys.readouterr().out == (
        "OPENAI_GATEWAY_HEADERS: sending cf-aig-authorization, x-portkey-provider with every "
        f"request to {CLOUDFLARE}/\n"
    )
    # Credentials are redacted like the key, whole and after their scheme.
    assert gateway_secrets() == ("Bearer cf-token-0123", "cf-token-0123")


@pytest.mark.parametrize(
    "base_url",
    [
        None,
        "https://api.openai.com/v1",
        "https://eu.api.openai.com/v1",
        "https://API.OpenAI.com/v1/",
    ],
)
def test_gateway_headers_never_go_to_openai(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], base_url: str | None
) -> None:
    if base_url is None:
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("OPENAI_GATEWAY_HEADERS", CF_HEADER)
    client = make_client().with_options(api_key="sk-caller-0123456789abcdef")
    assert "cf-aig-authorization" not in {name.lower() for name in client.default_headers}
    out = capsys.readouterr().out
    assert out.startswith("OPENAI_GATEWAY_HEADERS is set but not sent: requests go to OpenAI ")
    assert "cf-token" not in out


@pytest.mark.parametrize(
    ("setting", "why"),
    [
        ("cf-aig-authorization Bearer s3cret", "must be lines of 'Name: value'"),
        (": Bearer s3cret", "must be lines of 'Name: value'"),
        ("cf aig: Bearer s3cret", "must be lines of 'Name: value'"),
        ("cf-aig-authorization:", "must be lines of 'Name: value'"),
        ("cf-aig-authorization: Bearer \x01s3cret", "must be lines of 'Name: value'"),
        ("X-A: 1\nAuthorization: Bearer s3cret", "cannot set Authorization: it carries"),
        ("OpenAI-Organization: s3cret", "cannot set OpenAI-Organization"),
        ("openai-project: s3cret", "cannot set openai-project"),
    ],
)
def test_gateway_headers_that_cannot_work_stop_setup(
    monkeypatch: pytest.MonkeyPatch, setting: str, why: str
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", CLOUDFLARE)
    monkeypatch.setenv("OPENAI_GATEWAY_HEADERS", setting)
    with pytest.raises(SettingError, match=why) as refused:
        make_client()
    assert "s3cret" not in str(refused.value)  # a value is never shown


KEY = "sk-caller-0123456789abcdef"


@pytest.mark.parametrize("key", [KEY, "sk-1234", "anything", "ollama", "token-abc123", "e"])
def test_any_key_a_header_can_carry_is_sent(key: str) -> None:
    assert checked_api_key(f"  {key}\n") == key


@pytest.mark.parametrize("bad", [None, "", "   ", "sk-a b", KEY + "ä", "tab\there", "nul\x00here"])
def test_keys_no_header_can_carry_are_refused(bad: str | None) -> None:
    with pytest.raises(PredictionError, match="openai_api_key"):
        checked_api_key(bad)


@pytest.mark.parametrize(
    ("key", "text", "said"),
    [
        (
            KEY,
            f"key {KEY}, glued x{KEY}y, masked sk-cal***cdef; scikit is sk-learn, words stay",
            "key [redacted], glued x[redacted]y, masked [redacted]; scikit is sk-learn, words stay",
        ),
        (
            "anything",
            "anything goes; anythingness and nonanything stay; an***ng and an...ng do not",
            "[redacted] goes; anythingness and nonanything stay; [redacted] and [redacted] do not",
        ),
        (
            "sk-1234",
            "Received API Key = sk-...1234, or sk-1234; sk-12345 is another",
            "Received API Key = [redacted], or [redacted]; sk-12345 is another",
        ),
        ("lt-abcdefghijyz", "Invalid key lt-ab...yz.", "Invalid key [redacted]."),
        ("e", "Incorrect API key provided: e**********e. every e stays", None),
        (
            "unrelated",
            "OpenAI's sk-proj-abcdefghijklmnop123, sk-proj-****abcd and sk-ab***cd go too",
            "OpenAI's [redacted], [redacted] and [redacted] go too",
        ),
    ],
)
def test_redaction_removes_keys_whole_or_masked_but_no_ordinary_words(
    key: str, text: str, said: str | None
) -> None:
    if said is None:
        said = "Incorrect API key provided: [redacted]. every [redacted] stays"
    assert redact(text, key) == said


def test_redaction_removes_every_secret_given() -> None:
    text = "got Bearer cf-token-0123 and then cf-token-0123 for sk-1234"
    secrets = ("sk-1234", "Bearer cf-token-0123", "cf-token-0123")
    assert redact(text, *secrets) == "got [redacted] and then [redacted] for [redacted]"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # What coglet 0.23.1 takes for a cancellation: respelled.
        ("This project has been cancelled.", "This project has been canceled."),
        ("asyncio.CancelledError in the proxy", "asyncio.CanceledError in the proxy"),
        # What it does not: left as it was.
        ("This request is not cancellable.", "This request is not cancellable."),
        ("Request CANCELLED upstream", "Request CANCELLED upstream"),
        (
            "Cancelled by the proxy: cancellation policy",
            "Cancelled by the proxy: cancellation policy",
        ),
        ("we cancel it", "we cancel it"),
    ],
)
def test_failure_messages_never_say_what_coglet_takes_for_a_cancellation(
    text: str, said: str
) -> None:
    message = str(PredictionError(text))
    assert message == said
    assert "cancelled" not in message and "CancelledError" not in message
