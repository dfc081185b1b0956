"""Through the real prediction server: every input reaches the stand-in mapped as
OpenAI expects, and the images come back exactly as it sent them."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gpt_image.models import DEFAULT_MODEL
from tests.conftest import API_KEY, data_uri, decode_data_uri
from tests.images import make_image
from tools.cog_server import CogServer
from tools.openai_standin import RecordedRequest, StandIn

GENERATIONS = "/v1/images/generations"
EDITS = "/v1/images/edits"


def predict(server: CogServer, **inputs: Any) -> dict[str, Any]:
    result = server.predict({"openai_api_key": API_KEY, "prompt": "a red fox", **inputs})
    assert result["status"] == "succeeded", result.get("error")
    return result


def only_request(openai: StandIn) -> RecordedRequest:
    assert len(openai.requests) == 1
    return openai.requests[0]


def assert_outputs_are_upstream_bytes(result: dict[str, Any], request: RecordedRequest) -> None:
    outputs = [decode_data_uri(uri) for uri in result["output"]]
    assert [data for _, data in outputs] == request.response_images
    fmt = request.params.get("output_format", "png")
    assert {mime for mime, _ in outputs} == {f"image/{fmt}"}


def test_generation_with_defaults(server: CogServer, openai: StandIn) -> None:
    result = predict(server)
    request = only_request(openai)
    assert request.path == GENERATIONS
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.json == {
        "model": "gpt-image-2.5-sunburst",  # gpt-image-1's successor
        "prompt": "a red fox",
        "n": 1,
        "size": "1024x1024",
        "quality": "auto",
        "background": "auto",
        "output_format": "webp",
        "output_compression": 90,
        "moderation": "auto",
    }
    assert len(result["output"]) == 1
    assert_outputs_are_upstream_bytes(result, request)


@pytest.mark.parametrize(
    ("aspect_ratio", "size"), [("1:1", "1024x1024"), ("3:2", "1536x1024"), ("2:3", "1024x1536")]
)
def test_aspect_ratio(server: CogServer, openai: StandIn, aspect_ratio: str, size: str) -> None:
    predict(server, aspect_ratio=aspect_ratio)
    assert only_request(openai).json["size"] == size


@pytest.mark.parametrize("quality", ["low", "medium", "high", "auto"])
def test_quality(server: CogServer, openai: StandIn, quality: str) -> None:
    predict(server, quality=quality)
    assert only_request(openai).json["quality"] == quality


@pytest.mark.parametrize(
    ("background", "output_format"),
    [
        ("auto", "png"),
        ("transparent", "png"),
        ("transparent", "webp"),
        ("opaque", "jpeg"),
        ("opaque", "webp"),
        ("auto", "jpeg"),
    ],
)
def test_background_and_format(
    server: CogServer, openai: StandIn, background: str, output_format: str
) -> None:
    result = predict(server, background=background, output_format=output_format)
    request = only_request(openai)
    assert (request.json["background"], request.json["output_format"]) == (
        background,
        output_format,
    )
    assert_outputs_are_upstream_bytes(result, request)


@pytest.mark.parametrize("output_format", ["jpeg", "webp"])
@pytest.mark.parametrize("compression", [0, 55, 100])
def test_compression_with_lossy_formats(
    server: CogServer, openai: StandIn, output_format: str, compression: int
) -> None:
    predict(server, output_format=output_format, output_compression=compression)
    assert only_request(openai).json["output_compression"] == compression


def test_compression_is_not_sent_with_png(server: CogServer, openai: StandIn) -> None:
    predict(server, output_format="png", output_compression=20)
    assert "output_compression" not in only_request(openai).json


@pytest.mark.parametrize("moderation", ["auto", "low"])
def test_moderation(server: CogServer, openai: StandIn, moderation: str) -> None:
    predict(server, moderation=moderation)
    assert only_request(openai).json["moderation"] == moderation


def test_user_id_becomes_safety_identifier(server: CogServer, openai: StandIn) -> None:
    predict(server, user_id="customer-7")
    request = only_request(openai).json
    assert request["safety_identifier"] == "customer-7"
    assert "user" not in request  # deprecated


def test_user_id_longer_than_openai_takes_is_refused_first(
    server: CogServer, openai: StandIn
) -> None:
    result = server.predict({"openai_api_key": API_KEY, "prompt": "p", "user_id": "u" * 129})
    assert result["status"] == "failed"
    assert result["error"].endswith(
        "user_id is 129 characters long, but OpenAI accepts at most 128. "
        "Send a shorter identifier, such as a hash of the user's name."
    )
    assert openai.requests == []


@pytest.mark.parametrize("count", [1, 3, 10])
def test_number_of_images_in_order(server: CogServer, openai: StandIn, count: int) -> None:
    result = predict(server, number_of_images=count, aspect_ratio="3:2", output_format="png")
    request = only_request(openai)
    assert request.json["n"] == count
    assert len(result["output"]) == count
    assert len(set(request.response_images)) == count
    assert_outputs_are_upstream_bytes(result, request)


@pytest.mark.parametrize(
    ("pillow_format", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")],
)
def test_edit_sends_each_format_with_its_name_and_type(
    server: CogServer, openai: StandIn, pillow_format: str, mime: str
) -> None:
    image = make_image(pillow_format)
    result = predict(server, input_images=[data_uri(image, mime)], output_format="jpeg")
    request = only_request(openai)
    assert request.path == EDITS
    assert request.headers["content-type"].startswith("multipart/form-data")
    (upload,) = request.files
    extension = pillow_format.lower()
    assert (upload.field, upload.filename, upload.content_type) == (
        "image[]",
        f"image_1.{extension}",
        mime,
    )
    assert upload.data == image
    assert_outputs_are_upstream_bytes(result, request)


def test_edit_maps_every_input(server: CogServer, openai: StandIn) -> None:
    images = [make_image("PNG", (32 + i, 32)) for i in range(3)]
    predict(
        server,
        input_images=[data_uri(image, "image/png") for image in images],
        aspect_ratio="2:3",
        input_fidelity="high",
        number_of_images=2,
        quality="high",
        background="transparent",
        output_compression=40,
        output_format="webp",
        user_id="u1",
    )
    request = only_request(openai)
    assert [f.data for f in request.files] == images
    assert [f.filename for f in request.files] == ["image_1.png", "image_2.png", "image_3.png"]
    assert request.form == {
        "model": DEFAULT_MODEL,
        "prompt": "a red fox",
        "n": "2",
        "size": "1024x1536",
        "quality": "high",
        "background": "transparent",
        "output_format": "webp",
        "output_compression": "40",
        "safety_identifier": "u1",
    }


@pytest.mark.parametrize("fidelity", ["low", "high"])
def test_default_model_gets_no_input_fidelity(
    server: CogServer, openai: StandIn, fidelity: str
) -> None:
    image = data_uri(make_image("PNG"), "image/png")
    result = predict(server, input_images=[image], input_fidelity=fidelity)
    assert "input_fidelity" not in only_request(openai).form
    # Only a 'high' that was asked for is worth a word; 'low' is what leaving it out means.
    noted = f"{DEFAULT_MODEL} matches input images at high fidelity on its own"
    assert (noted in result["logs"]) == (fidelity == "high")


def test_input_fidelity_is_not_sent_on_generations(server: CogServer, openai: StandIn) -> None:
    predict(server, input_fidelity="high")
    assert "input_fidelity" not in only_request(openai).json


def test_empty_image_list_is_a_generation(server: CogServer, openai: StandIn) -> None:
    predict(server, input_images=[])
    assert only_request(openai).path == GENERATIONS


@pytest.mark.parametrize(
    "inputs",
    [
        {"aspect_ratio": "4:3"},
        {"number_of_images": 0},
        {"number_of_images": 11},
        {"output_compression": 101},
        {"output_format": "gif"},
        {"quality": "ultra"},
        {"moderation": "off"},
        {"background": "clear"},
        {"input_fidelity": "max"},
    ],
)
def test_out_of_schema_inputs_are_refused_before_openai(
    server: CogServer, openai: StandIn, inputs: dict[str, Any]
) -> None:
    result = server.predict({"openai_api_key": API_KEY, "prompt": "p", **inputs})
    assert result["http_status"] == 422
    assert openai.requests == []


def test_key_and_prompt_are_required(server: CogServer, openai: StandIn) -> None:
    assert server.predict({"prompt": "p"})["http_status"] == 422
    assert server.predict({"openai_api_key": API_KEY})["http_status"] == 422
    assert openai.requests == []


def test_concurrent_predictions_get_their_own_images(server: CogServer, openai: StandIn) -> None:
    prompts = [f"prompt {i}" for i in range(8)]
    openai.hold_until = len(prompts)  # no answer until all eight are waiting upstream
    with ThreadPoolExecutor(len(prompts)) as pool:
        results = list(pool.map(lambda p: predict(server, prompt=p, number_of_images=2), prompts))
    assert openai.peak_in_flight == len(prompts)
    by_prompt = {r.json["prompt"]: r.response_images for r in openai.requests}
    for prompt, result in zip(prompts, results, strict=True):
        assert [decode_data_uri(uri)[1] for uri in result["output"]] == by_prompt[prompt]


def test_model_comes_from_the_environment(standin: StandIn) -> None:
    standin.reset()
    env = {"OPENAI_BASE_URL": standin.base_url, "OPENAI_IMAGE_MODEL": "gpt-image-1.5"}
    server = CogServer(env=env).start()
    try:
        predict(server)
    finally:
        server.stop()
    assert only_request(standin).json["model"] == "gpt-image-1.5"


def test_only_the_callers_key_goes_to_openai(standin: StandIn) -> None:
    standin.reset()
    operator = {
        "OPENAI_ORG_ID": "org-operator",
        "OPENAI_PROJECT_ID": "proj_operator",
        "OPENAI_CUSTOM_HEADERS": "X-Operator: operator-secret\nAuthorization: Bearer sk-op-0",
    }
    server = CogServer(env={"OPENAI_BASE_URL": standin.base_url, **operator}).start()
    try:
        predict(server)
        logs = server.logs()
    finally:
        server.stop()
    headers = only_request(standin).headers
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert not {"openai-organization", "openai-project", "x-operator"} & set(headers)
    for name in operator:
        assert f"{name} is set but not used" in logs


@pytest.fixture(scope="module")
def upload_server(standin: StandIn) -> Iterator[CogServer]:
    """The prediction server as Replicate runs it: outputs PUT to an upload endpoint."""
    upload_url = standin.base_url.replace("/v1", "/uploads/")
    server = CogServer(env={"OPENAI_BASE_URL": standin.base_url}, upload_url=upload_url).start()
    yield server
    server.stop()


def test_uploaded_outputs_are_named_by_index_and_real_format(
    upload_server: CogServer, openai: StandIn
) -> None:
    result = predict(upload_server, number_of_images=3, output_format="jpeg")
    request = only_request(openai)
    assert sorted(u.filename for u in openai.uploads) == [
        "output_0.jpeg",
        "output_1.jpeg",
        "output_2.jpeg",
    ]
    by_name = {u.filename: u for u in openai.uploads}
    for index, image in enumerate(request.response_images):
        upload = by_name[f"output_{index}.jpeg"]
        assert (upload.data, upload.content_type) == (image, "image/jpeg")
    assert len(result["output"]) == 3
    assert all(url.startswith("http://127.0.0.1:") for url in result["output"])


def test_metrics_and_logs_report_images_usage_and_cost(server: CogServer, openai: StandIn) -> None:
    result = predict(server, number_of_images=2, quality="low", output_format="png")
    usage = openai.requests[0]
    assert result["metrics"]["image_output_count"] == 2
    assert result["metrics"]["token_input_count"] > 0
    assert result["metrics"]["token_output_count"] == 2 * 272  # low quality, 1024x1024
    logs = result["logs"]
    assert f"Model: {DEFAULT_MODEL} (set by OPENAI_IMAGE_MODEL)." in logs
    assert f"POST /v1/images/generations model={DEFAULT_MODEL} n=2 size=1024x1024" in logs
    assert "OpenAI made 2 images (1024x1024, low, png)." in logs
    assert "Tokens: " in logs and " out (" in logs
    assert "Estimated cost: $0.0" in logs and f"on your OpenAI account ({DEFAULT_MODEL}" in logs
    assert usage.json["n"] == 2


def test_predictions_share_pooled_connections(server: CogServer, openai: StandIn) -> None:
    for number in range(5):  # each with a key of its own
        result = server.predict({"openai_api_key": f"sk-caller-{number}-0123456789", "prompt": "p"})
        assert result["status"] == "succeeded"
    keys = {request.headers["authorization"] for request in openai.requests}
    assert len(keys) == 5
    assert len({request.connection for request in openai.requests}) == 1
