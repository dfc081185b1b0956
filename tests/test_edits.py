"""Input images through the real prediction server: what reaches the stand-in,
and what never does."""

import base64
import io
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image, ImageStat

from gpt_image.inputs import MAX_IMAGE_BYTES
from gpt_image.models import DEFAULT_MODEL
from tests.conftest import API_KEY, data_uri, wait_for
from tests.images import (
    animated_gif,
    grey_ramp_16_bit,
    make_image,
    noise_gif,
    noise_png,
    png_claiming,
)
from tools.cog_server import CogServer
from tools.openai_standin import StandIn


def edit_inputs(images: list[bytes], **inputs: Any) -> dict[str, Any]:
    uris = [data_uri(image, "application/octet-stream") for image in images]
    return {"openai_api_key": API_KEY, "prompt": "paint it", "input_images": uris, **inputs}


def edit(server: CogServer, images: list[bytes], **inputs: Any) -> dict[str, Any]:
    return server.predict(edit_inputs(images, **inputs))


def succeeded(result: dict[str, Any]) -> dict[str, Any]:
    assert result["status"] == "succeeded", result.get("error")
    return result


def test_each_image_is_logged(server: CogServer, openai: StandIn) -> None:
    png, gif = make_image("PNG"), animated_gif()
    logs = succeeded(edit(server, [png, gif]))["logs"]
    assert f"Input image 1: PNG 64x48, {len(png)} bytes, sent as is" in logs
    assert f"Input image 2: GIF 40x30, {len(gif)} bytes, converted to PNG" in logs
    assert f"POST /v1/images/edits (multipart) model={DEFAULT_MODEL} n=1 size=1024x1024" in logs


def test_format_is_read_from_content_not_from_the_name(server: CogServer, openai: StandIn) -> None:
    jpeg = make_image("JPEG")
    succeeded(
        server.predict(
            {
                "openai_api_key": API_KEY,
                "prompt": "p",
                "input_images": [data_uri(jpeg, "image/png")],
            }
        )
    )
    (upload,) = openai.requests[0].files
    assert (upload.filename, upload.content_type, upload.data) == (
        "image_1.jpeg",
        "image/jpeg",
        jpeg,
    )


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO", "TGA", "AVIF"])
def test_other_formats_reach_openai_as_png(server: CogServer, openai: StandIn, fmt: str) -> None:
    succeeded(edit(server, [make_image(fmt)]))
    (upload,) = openai.requests[0].files
    assert (upload.filename, upload.content_type) == ("image_1.png", "image/png")
    assert Image.open(io.BytesIO(upload.data)).format == "PNG"


def test_gif_reaches_openai_as_its_first_frame(server: CogServer, openai: StandIn) -> None:
    succeeded(edit(server, [animated_gif()]))
    frame = Image.open(io.BytesIO(openai.requests[0].files[0].data))
    assert frame.mode == "RGBA"
    assert frame.getpixel((5, 5))[3] == 0
    assert frame.getpixel((30, 5)) == (255, 0, 0, 255)


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    return noise_png(3700)  # 52 MB of incompressible pixels


def test_image_over_50_mb_is_downscaled_before_sending(
    server: CogServer, openai: StandIn, huge_png: bytes
) -> None:
    result = succeeded(edit(server, [huge_png]))
    (upload,) = openai.requests[0].files
    assert len(upload.data) < MAX_IMAGE_BYTES
    assert Image.open(io.BytesIO(upload.data)).size == (2048, 2048)
    assert "re-encoded as a 2048x2048 PNG to get under OpenAI's 50 MB limit" in result["logs"]


@pytest.mark.parametrize("fmt", ["TIFF", "PPM"])
def test_16_bit_grey_reaches_openai_as_bright_as_it_is(
    server: CogServer, openai: StandIn, fmt: str
) -> None:
    succeeded(edit(server, [grey_ramp_16_bit(fmt)]))
    (upload,) = openai.requests[0].files
    image = Image.open(io.BytesIO(upload.data))
    # A black-to-white ramp averages half brightness; clipped to 8 bits it was white.
    assert ImageStat.Stat(image.convert("L")).mean[0] == pytest.approx(127.5, abs=0.5)


@pytest.fixture(scope="module")
def big_gif() -> bytes:
    return noise_gif(4800, 4000)  # 26.4 MB; 57.6 MB as an RGB PNG


def test_gif_whose_png_would_be_over_50_mb_is_downscaled(
    server: CogServer, openai: StandIn, big_gif: bytes
) -> None:
    result = succeeded(edit(server, [big_gif]))
    (upload,) = openai.requests[0].files
    assert len(upload.data) < MAX_IMAGE_BYTES
    image = Image.open(io.BytesIO(upload.data))
    image.load()
    assert (image.format, image.size) == ("PNG", (2048, 1707))
    assert re.search(
        r"Input image 1: GIF 4800x4000, 26\.4 MB, converted to PNG and downscaled to "
        r"2048x1707 to get under OpenAI's 50 MB limit \(at full size it was 5\d\.\d MB\)",
        result["logs"],
    )


def spooled(server: CogServer) -> list[Path]:
    """The prediction server's spool directories for converted input images."""
    return list(server.tmp.glob("gpt-image-inputs-*"))


BAD_REQUEST = {
    "error": {"message": "Bad image.", "type": "invalid_request_error", "param": None, "code": None}
}


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
def test_converted_images_are_spooled_until_the_request_ends(
    server: CogServer, openai: StandIn, outcome: str
) -> None:
    if outcome == "failed":
        openai.fail_next(400, BAD_REQUEST)
    openai.hold_until = 2  # the edit waits upstream until a second request arrives
    with ThreadPoolExecutor(2) as pool:
        editing = pool.submit(edit, server, [make_image("PNG"), make_image("BMP")])
        wait_for(lambda: openai.requests)
        (spool,) = spooled(server)
        assert [path.name for path in spool.iterdir()] == ["image_2.png"]  # the PNG goes as is
        pool.submit(server.predict, {"openai_api_key": API_KEY, "prompt": "the second"})
        assert editing.result()["status"] == outcome
    assert spooled(server) == []


def test_spool_is_removed_when_the_request_is_canceled(server: CogServer, openai: StandIn) -> None:
    openai.latency = 120  # only the cancellation ends the request
    # Canceled once the request is upstream with its image spooled.
    result = cancel_when(server, [make_image("BMP")], lambda: openai.requests and spooled(server))
    assert result["status"] == "canceled", result
    wait_for(lambda: not spooled(server))  # cog answers as it cancels, not once it is done


def test_spool_is_removed_when_canceled_during_a_conversion(
    server: CogServer, openai: StandIn, big_gif: bytes
) -> None:
    # Canceled while the converted PNG, seconds in the making, is being written. (Not
    # sooner: coglet 0.23.1 aims a cancel that comes in the first moments of an async
    # prediction at the wrong thread, and the prediction goes on.)
    writing = "gpt-image-inputs-*/image_1.png"
    result = cancel_when(server, [big_gif], lambda: list(server.tmp.glob(writing)))
    assert result["status"] == "canceled", result
    # The conversion's thread cannot be stopped: the spool goes once it has finished.
    wait_for(lambda: not spooled(server))
    assert openai.requests == []


def cancel_when(
    server: CogServer, images: list[bytes], condition: Callable[[], object]
) -> dict[str, Any]:
    """Start an edit, cancel it once condition holds, and return its answer."""
    name = f"cancel-{time.monotonic_ns()}"  # a prediction id of its own
    body = {"id": name, "input": edit_inputs(images)}
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(requests.post, f"{server.url}/predictions", json=body, timeout=90)
        wait_for(condition)
        cancel = requests.post(f"{server.url}/predictions/{name}/cancel", timeout=30)
        assert cancel.status_code == 200
        return answer.result().json()


def test_sixteen_images_are_sent_in_order(server: CogServer, openai: StandIn) -> None:
    images = [make_image("PNG", (20 + i, 20)) for i in range(16)]
    succeeded(edit(server, images))
    files = openai.requests[0].files
    assert [f.data for f in files] == images
    assert [f.filename for f in files] == [f"image_{i}.png" for i in range(1, 17)]


REFUSED = {
    "not an image": (b"GIF89a? no, just text", "Input image 2 is not an image this model can read"),
    "truncated PNG": (make_image("PNG", (400, 300))[:300], "Input image 2 could not be decoded"),
    "truncated JPEG": (make_image("JPEG", (800, 600))[:1500], "Input image 2 could not be decoded"),
    "decompression bomb": (
        png_claiming(30_000, 30_000),
        "Input image 2 has more than 64 megapixels",
    ),
    "too many pixels": (png_claiming(9_000, 9_000), r"Input image 2 \(9000x9000\) has more than"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_images_are_refused_before_openai(
    server: CogServer, openai: StandIn, case: str
) -> None:
    bad, message = REFUSED[case]
    result = edit(server, [make_image("PNG"), bad])
    assert result["status"] == "failed"
    assert re.search(message, result["error"]), result["error"]
    assert openai.requests == []


def test_empty_file_is_refused_before_openai(server: CogServer, openai: StandIn) -> None:
    result = server.predict(
        {
            "openai_api_key": API_KEY,
            "prompt": "p",
            "input_images": ["data:image/png;base64,"],
        }
    )
    assert result["status"] == "failed"
    assert "Input image 1 is an empty file" in result["error"]
    assert openai.requests == []


def test_more_than_16_images_are_refused_before_openai(server: CogServer, openai: StandIn) -> None:
    result = edit(server, [make_image("PNG")] * 17)
    assert result["status"] == "failed"
    assert "17 input images were given, but OpenAI accepts at most 16" in result["error"]
    assert openai.requests == []


@pytest.fixture(scope="module")
def mini_server(standin: StandIn) -> Iterator[CogServer]:
    env = {"OPENAI_BASE_URL": standin.base_url, "OPENAI_IMAGE_MODEL": "gpt-image-1-mini"}
    server = CogServer(env=env).start()
    yield server
    server.stop()


def test_mini_does_not_get_high_input_fidelity(mini_server: CogServer, openai: StandIn) -> None:
    result = succeeded(edit(mini_server, [make_image("PNG")], input_fidelity="high"))
    request = openai.requests[0]
    assert request.form["model"] == "gpt-image-1-mini"
    assert "input_fidelity" not in request.form
    assert (
        "gpt-image-1-mini supports input_fidelity 'low' only, so 'high' was not sent."
        in result["logs"]
    )


def test_mini_gets_low_input_fidelity(mini_server: CogServer, openai: StandIn) -> None:
    succeeded(edit(mini_server, [make_image("PNG")], input_fidelity="low"))
    assert openai.requests[0].form["input_fidelity"] == "low"


def test_low_moderation_edit_goes_as_json(server: CogServer, openai: StandIn) -> None:
    png, jpeg = make_image("PNG"), make_image("JPEG")
    result = succeeded(edit(server, [png, jpeg], moderation="low", user_id="u-9"))
    request = openai.requests[0]
    assert request.headers["content-type"] == "application/json"
    assert request.files == []
    assert request.json["moderation"] == "low"
    assert "input_fidelity" not in request.json  # the default model takes none
    # The JSON form documents only the older `user`, not safety_identifier.
    assert request.json["user"] == "u-9"
    assert "safety_identifier" not in request.json
    assert request.json["images"] == [
        {"image_url": "data:image/png;base64," + base64.b64encode(png).decode()},
        {"image_url": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()},
    ]
    assert "POST /v1/images/edits (JSON)" in result["logs"]
    assert len(result["output"]) == 1


def test_auto_moderation_edit_goes_as_multipart(server: CogServer, openai: StandIn) -> None:
    succeeded(edit(server, [make_image("PNG")], moderation="auto"))
    request = openai.requests[0]
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert "moderation" not in request.form


def test_image_too_large_for_a_data_url_falls_back_to_multipart(
    server: CogServer, openai: StandIn
) -> None:
    big = noise_png(2100)  # 17 MB: under 50 MB, but over 20 MB as a data URL
    result = succeeded(edit(server, [big], moderation="low"))
    request = openai.requests[0]
    assert request.files[0].data == big
    assert "moderation 'low' was not applied" in result["logs"]


@pytest.mark.parametrize("moderation", ["low", "auto"])  # JSON, multipart
def test_a_retried_edit_sends_the_same_images(
    server: CogServer, openai: StandIn, moderation: str
) -> None:
    error = {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}
    openai.fail_next(500, error)
    png, jpeg = make_image("PNG"), make_image("JPEG")
    succeeded(edit(server, [png, jpeg], moderation=moderation))
    first, retried = openai.requests
    assert (first.json, first.files) == (retried.json, retried.files)
    if moderation == "low":
        assert retried.json["images"][1]["image_url"].endswith(base64.b64encode(jpeg).decode())
    else:
        assert [file.data for file in retried.files] == [png, jpeg]
