"""samples/: the pictures are real, and the request bodies replay against the server."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tools.cog_schema import PROJECT_DIR
from tools.cog_server import CogServer
from tools.openai_standin import StandIn

SAMPLES = PROJECT_DIR / "samples"


@pytest.mark.parametrize("name", ["cat.png", "coffee.jpg"])
def test_input_pictures_are_real_photographs(name: str) -> None:
    with Image.open(SAMPLES / "inputs" / name) as image:
        image.load()
        assert image.width >= 400 and image.height >= 300


def test_sample_outputs_are_images_named_by_format() -> None:
    paths = sorted((SAMPLES / "outputs").rglob("output_*.*"))
    names = [str(path.relative_to(SAMPLES / "outputs")) for path in paths]
    assert names == ["edit/output_0.png", "generate/output_0.webp", "generate/output_1.webp"]
    for path in paths:
        with Image.open(path) as image:
            assert image.format.lower() == path.suffix[1:]


@pytest.mark.parametrize("name", ["generate", "edit"])
def test_request_bodies_replay_against_the_server(
    server: CogServer, openai: StandIn, name: str
) -> None:
    body = json.loads((SAMPLES / f"{name}.json").read_text())
    result = server.predict(body["input"])
    assert result["status"] == "succeeded", result.get("error")
    expected = {"generate": "/v1/images/generations", "edit": "/v1/images/edits"}[name]
    assert openai.requests[0].path == expected


@pytest.mark.skipif(shutil.which("curl") is None, reason="replay.sh needs curl")
def test_replay_script_saves_the_images(server: CogServer, openai: StandIn, tmp_path: Path) -> None:
    env = {**os.environ, "OPENAI_API_KEY": "sk-replayed-0123456789"}
    result = subprocess.run(
        ["bash", str(SAMPLES / "replay.sh"), server.url, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert 'generate: "status":"succeeded"' in result.stdout
    assert 'edit: "status":"succeeded"' in result.stdout
    saved = sorted(p.name for p in tmp_path.glob("*_output_*"))
    assert saved == ["edit_output_0.png", "generate_output_0.webp", "generate_output_1.webp"]
    keys = {request.headers["authorization"] for request in openai.requests}
    assert keys == {"Bearer sk-replayed-0123456789"}
