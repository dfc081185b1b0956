"""Property-based run against the real prediction server and the stand-in: for
inputs the schema allows and inputs it rejects, the server answers quickly, never
with a 5xx, never with a traceback or the key, and keeps serving."""

import base64
import json
from typing import Any

import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import API_KEY, data_uri
from tests.images import make_image
from tools.cog_server import CogServer
from tools.openai_standin import StandIn

CHOICES = {
    "aspect_ratio": ["1:1", "3:2", "2:3"],
    "input_fidelity": ["low", "high"],
    "quality": ["low", "medium", "high", "auto"],
    "background": ["auto", "transparent", "opaque"],
    "output_format": ["png", "jpeg", "webp"],
    "moderation": ["auto", "low"],
}
ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
IMAGE_URIS = st.sampled_from(
    [
        data_uri(make_image("PNG"), "image/png"),
        data_uri(make_image("GIF"), "image/gif"),
        data_uri(b"not an image at all", "image/png"),
        data_uri(make_image("JPEG", (300, 200))[:400], "image/jpeg"),
        "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n").decode(),
        "not a url",
        "http://127.0.0.1:9/nothing-listens-here.png",
    ]
)


def allowed_value(name: str) -> st.SearchStrategy[Any]:
    """Values the schema allows for an input."""
    if name in CHOICES:
        return st.sampled_from(CHOICES[name])
    if name == "number_of_images":
        return st.integers(1, 10)
    if name == "output_compression":
        return st.integers(0, 100)
    if name == "input_images":
        return st.lists(IMAGE_URIS, max_size=3)
    return st.text(max_size=200)  # prompt, user_id


OPTIONAL = [*CHOICES, "number_of_images", "output_compression", "input_images", "user_id"]


def inputs(value: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"openai_api_key": st.just(API_KEY), "prompt": value("prompt")},
        optional={name: value(name) for name in OPTIONAL},
    )


# Half the examples stay inside the schema and reach the predictor; half may not.
INPUTS = inputs(allowed_value) | inputs(lambda name: allowed_value(name) | ANY_JSON)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples every run: deterministic CI
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(inputs=INPUTS)
def test_server_never_errors_or_hangs(server: CogServer, standin: StandIn, inputs: dict) -> None:
    standin.reset()
    response = requests.post(f"{server.url}/predictions", json={"input": inputs}, timeout=30)
    assert response.status_code in (200, 409, 422), response.text
    text = response.text
    event(f"HTTP {response.status_code} {response.json().get('status', '')}".strip())
    assert API_KEY not in text and "Traceback" not in text
    if response.status_code == 200:
        assert response.json()["status"] in ("succeeded", "failed"), text


def test_server_still_serves_after_fuzzing(server: CogServer, openai: StandIn) -> None:
    result = server.predict({"openai_api_key": API_KEY, "prompt": "after the storm"})
    assert result["status"] == "succeeded"
    assert json.dumps(result).count("data:image/webp") == 1
