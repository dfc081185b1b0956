"""Through the real prediction server: gateways in front of OpenAI, as their own
documents set them up. The stand-in plays the gateway: it takes the gateway's own
keys (LiteLLM's `sk-1234`, any key at all, vLLM's and Ollama's examples) and
requires headers of its own, as Cloudflare AI Gateway (with Authenticated Gateway
on), Helicone and Portkey do."""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TODAY
from tools.cog_server import CogServer
from tools.openai_standin import Gateway, StandIn

# cog puts this before every error message; what follows is the package's own.
COG_PREFIX = "Prediction failed: Async prediction failed: PredictionError: "
# Keys from the gateways' documents: LiteLLM's master key and its "anything" when
# no auth is configured, vLLM's `--api-key token-abc123`, Ollama's "ollama".
GATEWAY_KEYS = ("sk-1234", "anything", "token-abc123", "ollama")
HEADERS = {
    "cf-aig-authorization": "Bearer cf-aig-token-0123456789",
    "Helicone-Auth": "Bearer sk-helicone-0123456789",
    "x-portkey-api-key": "portkey-key-0123456789",
}
HEADER, TOKEN = next(iter(HEADERS.items()))
SETTING = "\n".join(f"{name}: {value}" for name, value in HEADERS.items())
SECRETS = (*GATEWAY_KEYS, *(value.split()[-1] for value in HEADERS.values()))


@pytest.fixture(scope="module")
def gateway() -> Iterator[StandIn]:
    server = StandIn(today=TODAY, gateway=Gateway(frozenset(GATEWAY_KEYS), HEADERS))
    server.start()
    yield server
    server.stop()


def gateway_server(gateway: StandIn, **env: str) -> Iterator[CogServer]:
    env = {"OPENAI_BASE_URL": gateway.base_url, "OPENAI_MAX_RETRIES": "0", **env}
    server = CogServer(env={**env, "OPENAI_LOG": "debug"}).start()
    yield server
    server.stop()
    logs = server.logs()
    for secret in SECRETS:  # whatever ran, no key and no header value reached a log
        assert not re.search(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", logs), secret


@pytest.fixture(scope="module")
def opted_in(gateway: StandIn) -> Iterator[CogServer]:
    """Sends the gateway's headers, as the operator asked."""
    yield from gateway_server(gateway, OPENAI_GATEWAY_HEADERS=SETTING)


@pytest.fixture(scope="module")
def not_opted_in(gateway: StandIn) -> Iterator[CogServer]:
    """Has the headers only in the SDK's own OPENAI_CUSTOM_HEADERS, which is never sent."""
    yield from gateway_server(gateway, OPENAI_CUSTOM_HEADERS=SETTING)


@pytest.fixture
def at_gateway(gateway: StandIn) -> StandIn:
    gateway.reset()
    return gateway


def predict(server: CogServer, key: str) -> dict[str, Any]:
    return server.predict({"openai_api_key": key, "prompt": "a red fox"})


def failure_message(result: dict[str, Any]) -> str:
    assert result["status"] == "failed", result
    answer = json.dumps(result)
    for value in HEADERS.values():
        assert value.split()[-1] not in answer
    assert result["error"].startswith(COG_PREFIX), result["error"]
    return result["error"].removeprefix(COG_PREFIX)


@pytest.mark.parametrize("key", GATEWAY_KEYS)
def test_gateway_keys_are_sent(opted_in: CogServer, at_gateway: StandIn, key: str) -> None:
    result = predict(opted_in, key)
    assert result["status"] == "succeeded", result.get("error")
    (request,) = at_gateway.requests
    assert request.headers["authorization"] == f"Bearer {key}"
    for name, value in HEADERS.items():
        assert request.headers[name.lower()] == value


def test_setup_says_which_headers_go_where(opted_in: CogServer) -> None:
    assert (
        f"OPENAI_GATEWAY_HEADERS: sending {', '.join(HEADERS)} with every request to "
        f"{opted_in.env['OPENAI_BASE_URL']}/" in opted_in.logs()
    )


def test_headers_are_not_sent_without_opting_in(
    not_opted_in: CogServer, at_gateway: StandIn
) -> None:
    message = failure_message(predict(not_opted_in, "sk-1234"))
    (request,) = at_gateway.requests
    assert not {name.lower() for name in HEADERS} & set(request.headers)
    assert message == (
        f"The gateway at {at_gateway.base_url}/ refused the request (401): Unauthorized: header "
        f"{HEADER} is missing or wrong (received None)."
    )
    assert "OPENAI_CUSTOM_HEADERS is set but not used" in not_opted_in.logs()


def test_a_key_the_gateway_refuses(opted_in: CogServer, at_gateway: StandIn) -> None:
    key = "anything-else"
    message = failure_message(predict(opted_in, key))
    # LiteLLM echoes the key masked ("any...else"); the caller reads neither form.
    assert message == (
        f"The gateway at {at_gateway.base_url}/ refused the request (401): Authentication Error, "
        "Invalid proxy server token passed. Received API Key = [redacted]. Unable to find "
        "token in cache or `LiteLLM_VerificationTokenTable`"
    )


def test_a_header_value_the_gateway_echoes_is_redacted(
    opted_in: CogServer, at_gateway: StandIn
) -> None:
    at_gateway.gateway = Gateway(
        frozenset(GATEWAY_KEYS), {**HEADERS, HEADER: "Bearer another-token"}
    )
    message = failure_message(predict(opted_in, "sk-1234"))
    assert message == (
        f"The gateway at {at_gateway.base_url}/ refused the request (401): Unauthorized: header "
        f"{HEADER} is missing or wrong (received '[redacted]')."
    )


# Headers whose names say nothing of being credentials, and one shown as a setting.
UNNAMED_SECRETS = {"X-Authentication": "tenant-7f3a9c2e", "X-Tenant-Pass": "hunter2"}
SHOWN = {"cf-aig-cache-ttl": "3600"}


@pytest.fixture(scope="module")
def more_headers(gateway: StandIn) -> Iterator[CogServer]:
    lines = [f"{name}: {value}" for name, value in {**UNNAMED_SECRETS, **SHOWN}.items()]
    yield from gateway_server(gateway, OPENAI_GATEWAY_HEADERS="\n".join([SETTING, *lines]))


def test_a_gateway_quoting_every_header_shows_no_value(
    more_headers: CogServer, at_gateway: StandIn
) -> None:
    at_gateway.gateway = Gateway(frozenset(GATEWAY_KEYS), HEADERS, quotes_headers=True)
    result = predict(more_headers, "sk-1234")
    message = failure_message(result)
    assert message.startswith(f"The gateway at {at_gateway.base_url}/ refused the request (403)")
    for name, value in {**HEADERS, **UNNAMED_SECRETS}.items():
        assert f"{name.lower()}: [redacted]" in message
        assert value.split()[-1] not in json.dumps(result)
        assert value.split()[-1] not in more_headers.logs()
    assert "cf-aig-cache-ttl: 3600" in message  # a setting, not a secret
    assert "authorization: Bearer [redacted]" in message  # the caller's key
