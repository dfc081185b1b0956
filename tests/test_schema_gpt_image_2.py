"""The other builds: the schema `cog build -f <config>` would write equals Replicate's
openai/gpt-image-2 for cog.gpt-image-2.yaml and openai/gpt-image-2.5-sunburst and -flare
for theirs, and each config differs from cog.yaml only where it must."""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import yaml

from tests.test_schema import FIXTURES, resolve_enums
from tools.cog_schema import (
    DEFAULT_CONFIG,
    GPT_IMAGE_2_5_CONFIGS,
    GPT_IMAGE_2_CONFIG,
    PROJECT_DIR,
    generate_schema,
)
from tools.cog_server import CogServer

# Each build: its hosted model's schema, its predictor and its default model.
BUILDS = {
    GPT_IMAGE_2_CONFIG: (
        "hosted_schema_gpt_image_2.json",
        "predict_gpt_image_2.py:Predictor",
        "gpt-image-2",
    ),
    GPT_IMAGE_2_5_CONFIGS[0]: (
        "hosted_schema_gpt_image_2_5.json",
        "predict_gpt_image_2_5.py:Predictor",
        "gpt-image-2.5-sunburst",
    ),
    GPT_IMAGE_2_5_CONFIGS[1]: (
        "hosted_schema_gpt_image_2_5.json",
        "predict_gpt_image_2_5.py:Predictor",
        "gpt-image-2.5-flare",
    ),
}
# Replicate's says what Replicate does without a key; this package does otherwise.
OWN_DESCRIPTION = "openai_api_key"


def hosted(config: str) -> dict[str, Any]:
    return json.loads((FIXTURES / BUILDS[config][0]).read_text())


@pytest.fixture(scope="module", params=list(BUILDS))
def config(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def generated(config: str) -> dict[str, Any]:
    return generate_schema(config)


def test_inputs_match_the_hosted_model_field_by_field(
    config: str, generated: dict[str, Any]
) -> None:
    components = generated["components"]["schemas"]
    ours = resolve_enums(components["Input"], components)
    expected_input = hosted(config)["Input"]
    assert list(ours["properties"]) == list(expected_input["properties"])
    for name, expected in expected_input["properties"].items():
        prop = dict(ours["properties"][name])
        if name == OWN_DESCRIPTION:
            prop["description"] = expected["description"]
        assert prop == expected, name
    assert ours["required"] == expected_input["required"] == ["prompt"]
    assert [p["x-order"] for p in ours["properties"].values()] == list(range(11))


def test_the_key_says_what_happens_without_it(config: str, generated: dict[str, Any]) -> None:
    key = generated["components"]["schemas"]["Input"]["properties"]["openai_api_key"]
    hosted_key = hosted(config)["Input"]["properties"]["openai_api_key"]
    assert key["description"] != hosted_key["description"]
    assert "OPENAI_API_KEY" in key["description"] and "nothing is sent" in key["description"]
    assert "proxy" not in key["description"]


def test_output_matches_the_hosted_model(config: str, generated: dict[str, Any]) -> None:
    assert generated["components"]["schemas"]["Output"] == hosted(config)["Output"]


def test_the_gpt_image_2_5_interface_is_gpt_image_2s_with_two_more_tiers() -> None:
    two, two_5 = (
        hosted(config)["Input"] for config in (GPT_IMAGE_2_CONFIG, *GPT_IMAGE_2_5_CONFIGS[:1])
    )
    qualities = two_5["properties"].pop("quality")["enum"]
    assert qualities == ["low", "medium", "high", "xhigh", "max", "auto"]
    assert two["properties"].pop("quality")["enum"] == ["low", "medium", "high", "auto"]
    assert two == two_5


def test_running_server_serves_this_builds_schema(
    gpt_image_2_server: CogServer, gpt_image_2_5_server: CogServer
) -> None:
    for server in (gpt_image_2_server, gpt_image_2_5_server):
        served = requests.get(f"{server.url}/openapi.json", timeout=10).json()
        expected = generate_schema(server.config)["components"]["schemas"]["Input"]
        assert served["components"]["schemas"]["Input"] == expected


def test_each_config_differs_from_cog_yaml_only_in_predictor_and_model(config: str) -> None:
    one, other = (
        yaml.safe_load((PROJECT_DIR / name).read_text()) for name in (DEFAULT_CONFIG, config)
    )
    _, predictor, model = BUILDS[config]
    assert other.pop("predict") == predictor
    assert one.pop("predict") == "predict.py:Predictor"
    models = [
        [entry for entry in settings["environment"] if entry.startswith("OPENAI_IMAGE_MODEL=")]
        for settings in (one, other)
    ]
    assert models[1] == [f"OPENAI_IMAGE_MODEL={model}"]
    for settings, entries in zip((one, other), models, strict=True):
        settings["environment"].remove(entries[0])
    assert one == other


def test_the_config_validates_against_cogs_config_schema(config: str) -> None:
    settings = yaml.safe_load((PROJECT_DIR / config).read_text())
    jsonschema.validate(
        settings, json.loads((FIXTURES / "cog_config_schema_v1.0.json").read_text())
    )


def test_the_readme_builds_pushes_and_runs_every_build() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    for command in ("build", "push"):
        lines = re.findall(rf"^\S+ cog {command} .*$", readme, re.MULTILINE)
        assert any("-f" not in line.split() for line in lines), command
        for config in BUILDS:
            assert any(f"-f {config} " in line for line in lines), (command, config)
    for config in BUILDS:
        assert f"-m tools.local_predict -f {config} " in readme, config


def test_the_image_holds_the_other_predictors() -> None:
    # `cog build -f <config>` copies the config over /src/cog.yaml inside the image
    # (cog 0.23.1, pkg/dockerfile/standard_generator.go, cpCogYaml): it must be there.
    ignored = Path(PROJECT_DIR / ".dockerignore").read_text().splitlines()
    needed = {predictor.split(":")[0] for _, predictor, _ in BUILDS.values()}
    assert not (needed | set(BUILDS)) & set(ignored)
