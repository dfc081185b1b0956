"""The second build: the schema `cog build -f cog.gpt-image-2.yaml` would write equals
Replicate's openai/gpt-image-2, and its config differs from cog.yaml only where it must."""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import yaml

from tests.test_schema import FIXTURES, resolve_enums
from tools.cog_schema import DEFAULT_CONFIG, GPT_IMAGE_2_CONFIG, PROJECT_DIR, generate_schema
from tools.cog_server import CogServer

HOSTED = json.loads((FIXTURES / "hosted_schema_gpt_image_2.json").read_text())
# Replicate's says what Replicate does without a key; this package does otherwise.
OWN_DESCRIPTION = "openai_api_key"


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return generate_schema(GPT_IMAGE_2_CONFIG)


def test_inputs_match_the_hosted_model_field_by_field(generated: dict[str, Any]) -> None:
    components = generated["components"]["schemas"]
    ours = resolve_enums(components["Input"], components)
    hosted = HOSTED["Input"]
    assert list(ours["properties"]) == list(hosted["properties"])
    for name, expected in hosted["properties"].items():
        prop = dict(ours["properties"][name])
        if name == OWN_DESCRIPTION:
            prop["description"] = expected["description"]
        assert prop == expected, name
    assert ours["required"] == hosted["required"] == ["prompt"]
    assert [p["x-order"] for p in ours["properties"].values()] == list(range(11))


def test_the_key_says_what_happens_without_it(generated: dict[str, Any]) -> None:
    key = generated["components"]["schemas"]["Input"]["properties"]["openai_api_key"]
    assert key["description"] != HOSTED["Input"]["properties"]["openai_api_key"]["description"]
    assert "OPENAI_API_KEY" in key["description"] and "nothing is sent" in key["description"]
    assert "proxy" not in key["description"]


def test_output_matches_the_hosted_model(generated: dict[str, Any]) -> None:
    assert generated["components"]["schemas"]["Output"] == HOSTED["Output"]


def test_running_server_serves_this_builds_schema(
    gpt_image_2_server: CogServer, generated: dict[str, Any]
) -> None:
    served = requests.get(f"{gpt_image_2_server.url}/openapi.json", timeout=10).json()
    assert served["components"]["schemas"]["Input"] == generated["components"]["schemas"]["Input"]


def test_the_two_configs_differ_only_in_predictor_and_model() -> None:
    one, two = (
        yaml.safe_load((PROJECT_DIR / name).read_text())
        for name in (DEFAULT_CONFIG, GPT_IMAGE_2_CONFIG)
    )
    assert two.pop("predict") == "predict_gpt_image_2.py:Predictor"
    assert one.pop("predict") == "predict.py:Predictor"
    models = [
        [entry for entry in config["environment"] if entry.startswith("OPENAI_IMAGE_MODEL=")]
        for config in (one, two)
    ]
    assert models[1] == ["OPENAI_IMAGE_MODEL=gpt-image-2"]
    for config, model in zip((one, two), models, strict=True):
        config["environment"].remove(model[0])
    assert one == two


def test_the_config_validates_against_cogs_config_schema() -> None:
    config = yaml.safe_load((PROJECT_DIR / GPT_IMAGE_2_CONFIG).read_text())
    jsonschema.validate(config, json.loads((FIXTURES / "cog_config_schema_v1.0.json").read_text()))


def test_the_readme_builds_and_pushes_both() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    for command in ("build", "push"):
        lines = re.findall(rf"^\S+ cog {command} .*$", readme, re.MULTILINE)
        assert any(f"-f {GPT_IMAGE_2_CONFIG}" in line for line in lines), command
        assert any("-f" not in line.split() for line in lines), command


def test_the_image_holds_the_second_predictor() -> None:
    # `cog build -f <config>` copies the config over /src/cog.yaml inside the image
    # (cog 0.23.1, pkg/dockerfile/standard_generator.go, cpCogYaml): it must be there.
    ignored = Path(PROJECT_DIR / ".dockerignore").read_text().splitlines()
    assert not {"predict_gpt_image_2.py", GPT_IMAGE_2_CONFIG} & set(ignored)
