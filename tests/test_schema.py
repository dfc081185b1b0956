"""The interface: the schema `cog build` would write equals the hosted model's."""

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import yaml

from gpt_image.models import DEFAULT_MODEL
from tools.cog_schema import COG_VERSION, PROJECT_DIR, generate_schema
from tools.cog_server import CogServer

FIXTURES = Path(__file__).parent / "fixtures"
HOSTED = json.loads((FIXTURES / "hosted_schema.json").read_text())


def resolve_enums(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Inline cog's `allOf: [$ref]` enum components, as Replicate shows them."""
    resolved = {}
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        if "allOf" in prop:
            (ref,) = prop.pop("allOf")
            component = components[ref["$ref"].rsplit("/", 1)[1]]
            prop = {**component, **prop}
        resolved[name] = prop
    return {**schema, "properties": resolved}


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return generate_schema()


def test_inputs_match_the_hosted_model_field_by_field(generated: dict[str, Any]) -> None:
    components = generated["components"]["schemas"]
    ours = resolve_enums(components["Input"], components)
    hosted = HOSTED["Input"]
    assert list(ours["properties"]) == list(hosted["properties"])
    for name, expected in hosted["properties"].items():
        assert ours["properties"][name] == expected, name
    assert ours["required"] == hosted["required"]
    assert ours == hosted


def test_inputs_are_in_the_hosted_order(generated: dict[str, Any]) -> None:
    properties = generated["components"]["schemas"]["Input"]["properties"]
    assert [p["x-order"] for p in properties.values()] == list(range(12))


def test_output_matches_the_hosted_model(generated: dict[str, Any]) -> None:
    assert generated["components"]["schemas"]["Output"] == HOSTED["Output"]


def test_enum_components_take_cogs_form(generated: dict[str, Any]) -> None:
    components = generated["components"]["schemas"]
    assert components["aspect_ratio"] == {
        "title": "aspect_ratio",
        "description": "An enumeration.",
        "enum": ["1:1", "3:2", "2:3"],
        "type": "string",
    }
    assert components["Input"]["properties"]["aspect_ratio"]["allOf"] == [
        {"$ref": "#/components/schemas/aspect_ratio"}
    ]


def test_running_server_serves_the_generated_schema(
    server: CogServer, generated: dict[str, Any]
) -> None:
    served = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    assert served["components"]["schemas"]["Input"] == generated["components"]["schemas"]["Input"]


def test_cog_yaml_validates_against_cogs_config_schema() -> None:
    config = yaml.safe_load((PROJECT_DIR / "cog.yaml").read_text())
    jsonschema.validate(config, json.loads((FIXTURES / "cog_config_schema_v1.0.json").read_text()))


def test_cog_yaml_settings() -> None:
    config = yaml.safe_load((PROJECT_DIR / "cog.yaml").read_text())
    build = config["build"]
    assert build["gpu"] is False
    assert build["python_version"] == "3.11"
    assert build["sdk_version"] == COG_VERSION == version("cog")
    assert config["predict"] == "predict.py:Predictor"
    assert config["concurrency"]["max"] > 1
    assert f"OPENAI_IMAGE_MODEL={DEFAULT_MODEL}" in config["environment"]


@pytest.mark.parametrize("requirements", ["requirements.txt", "requirements-dev.txt"])
def test_every_dependency_is_pinned(requirements: str) -> None:
    lines = (PROJECT_DIR / requirements).read_text().splitlines()
    packages = [line for line in lines if line and not line.startswith(("#", "-r "))]
    assert packages
    for line in packages:
        name, _, pinned = line.partition("==")
        assert name and pinned, f"{requirements}: {line} is not pinned"
        assert version(name) == pinned, f"{name} installed {version(name)}, pinned {pinned}"
