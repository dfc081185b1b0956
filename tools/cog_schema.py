"""Write .cog/openapi_schema.json from predict.py the way `cog build` does.

cog 0.23's CLI (Go, not on PyPI) reads the predictor statically: it never imports
predict.py, it parses it, and keeps only what it can resolve from literals and
module-level constants. The prediction server validates inputs against the file
it writes. This module reproduces that generator (replicate/cog,
pkg/schema/openapi_spec.go and pkg/schema/python/inputs.go) for the input and
output types this package uses, and fails loudly on anything else rather than
guessing, so a schema test can never pass on a schema cog would not write.

Run `python -m tools.cog_schema [-f cog.gpt-image-2.yaml]` to (re)write the file by
hand for one of the builds, as `cog build [-f ...]` would.
"""

import argparse
import ast
import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

COG_VERSION = "0.23.1"
PROJECT_DIR = Path(__file__).resolve().parent.parent
# The gpt-image-1 build's config, and the other builds' (`cog build -f <config>`):
# gpt-image-2's, and the two GPT Image 2.5 models', which share one predictor.
DEFAULT_CONFIG = "cog.yaml"
GPT_IMAGE_2_CONFIG = "cog.gpt-image-2.yaml"
GPT_IMAGE_2_5_CONFIGS = ("cog.gpt-image-2.5-sunburst.yaml", "cog.gpt-image-2.5-flare.yaml")
SCHEMA_PATH = Path(".cog") / "openapi_schema.json"

PRIMITIVES: dict[str, dict[str, Any]] = {
    "bool": {"type": "boolean"},
    "float": {"type": "number"},
    "int": {"type": "integer"},
    "str": {"type": "string"},
    "Path": {"type": "string", "format": "uri"},
    "File": {"type": "string", "format": "uri"},
    "Secret": {"type": "string", "format": "password", "writeOnly": True, "x-cog-secret": True},
}
# Input(...) keywords and the schema keys cog writes for them (choices aside).
CONSTRAINTS = {
    "description": "description",
    "ge": "minimum",
    "le": "maximum",
    "min_length": "minLength",
    "max_length": "maxLength",
    "regex": "pattern",
    "deprecated": "deprecated",
}


class SchemaError(Exception):
    """predict.py uses something this generator (or cog's) cannot resolve statically."""


def title_case(name: str) -> str:
    return " ".join(part[:1].upper() + part[1:] for part in name.split("_"))


# CPython 3.11's ast.parse is not safe in threads started side by side ("AST
# constructor recursion depth mismatch"), and servers are started that way.
AST_LOCK = threading.Lock()


def generate_schema(config: str = DEFAULT_CONFIG) -> dict[str, Any]:
    """The OpenAPI document `cog build -f <config>` would write for this project."""
    settings = yaml.safe_load((PROJECT_DIR / config).read_text())
    source_name, class_name = settings["predict"].split(":")
    with AST_LOCK:
        module = ast.parse((PROJECT_DIR / source_name).read_text())
    constants = _module_constants(module)
    method = _predict_method(module, class_name)

    properties: dict[str, Any] = {}
    required: list[str] = []
    enums: dict[str, Any] = {}
    params = method.args.args[1:]  # skip self
    defaults = [None] * (len(params) - len(method.args.defaults)) + method.args.defaults
    for order, (param, default) in enumerate(zip(params, defaults, strict=True)):
        prop, is_required, enum = _input_property(param, default, order, constants)
        properties[param.arg] = prop
        if is_required:
            required.append(param.arg)
        if enum is not None:
            enums[param.arg] = enum

    input_schema: dict[str, Any] = {"title": "Input", "type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    output_schema = {**_output_type(method.returns), "title": "Output"}
    return _document(input_schema, output_schema, enums)


def write_schema(config: str = DEFAULT_CONFIG, directory: Path = PROJECT_DIR) -> Path:
    """Write the schema where a prediction server run in `directory` looks for it."""
    path = directory / SCHEMA_PATH
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(generate_schema(config)))
    return path


def _module_constants(module: ast.Module) -> dict[str, Any]:
    constants = {}
    for node in module.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                with contextlib.suppress(ValueError):
                    constants[target.id] = ast.literal_eval(node.value)
    return constants


def _predict_method(module: ast.Module, class_name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    for node in module.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            methods = {
                item.name: item
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            # cog prefers run() and falls back to the legacy predict().
            method = methods.get("run") or methods.get("predict")
            if method is None:
                raise SchemaError(f"{class_name} has no run() or predict() method")
            return method
    raise SchemaError(f"class {class_name} not found")


def _literal(node: ast.expr, constants: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    try:
        return ast.literal_eval(node)
    except ValueError as error:
        raise SchemaError(f"cannot resolve {ast.unparse(node)} statically") from error


def _type_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # cog.Path, typing.List, ...
        return node.attr
    raise SchemaError(f"unsupported annotation {ast.unparse(node)}")


def _input_type(annotation: ast.expr | None) -> tuple[dict[str, Any], bool, bool]:
    """JSON type of an input annotation, and whether it is a list and whether optional."""
    if annotation is None:
        raise SchemaError("every input needs a type annotation")
    optional = False
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        members = [annotation.left, annotation.right]
        none = [m for m in members if isinstance(m, ast.Constant) and m.value is None]
        if len(none) != 1:
            raise SchemaError(f"unsupported union {ast.unparse(annotation)}")
        annotation = next(m for m in members if m is not none[0])
        optional = True
    elif isinstance(annotation, ast.Subscript) and _type_name(annotation.value) == "Optional":
        annotation, optional = annotation.slice, True

    repeated = False
    if isinstance(annotation, ast.Subscript) and _type_name(annotation.value) in ("list", "List"):
        annotation, repeated = annotation.slice, True
    name = _type_name(annotation)
    if name not in PRIMITIVES:
        raise SchemaError(f"unsupported input type {name}")
    json_type = dict(PRIMITIVES[name])
    if repeated:
        json_type = {"type": "array", "items": json_type}
    return json_type, repeated, optional


def _input_property(
    param: ast.arg, default: ast.expr | None, order: int, constants: dict[str, Any]
) -> tuple[dict[str, Any], bool, dict[str, Any] | None]:
    """One property of the Input schema, whether it is required, and its enum component."""
    json_type, _, optional = _input_type(param.annotation)
    kwargs: dict[str, Any] = {}
    if isinstance(default, ast.Call) and _type_name(default.func) == "Input":
        if default.args:
            kwargs["default"] = _literal(default.args[0], constants)
        for keyword in default.keywords:
            if keyword.arg not in (*CONSTRAINTS, "default", "choices"):
                raise SchemaError(f"{param.arg}: unsupported Input keyword {keyword.arg}")
            kwargs[keyword.arg] = _literal(keyword.value, constants)
    elif default is not None:
        kwargs["default"] = _literal(default, constants)

    prop: dict[str, Any] = {"x-order": order}
    enum = None
    if "choices" in kwargs:
        enum = {
            "title": param.arg,
            "description": "An enumeration.",
            "enum": kwargs["choices"],
            "type": json_type["type"],
        }
        prop["allOf"] = [{"$ref": f"#/components/schemas/{param.arg}"}]
    else:
        prop["title"] = title_case(param.arg)
        prop.update(json_type)

    # A None default is "no default" unless the input is nullable (or a Secret).
    is_secret = json_type.get("x-cog-secret", False)
    nullable = optional or (is_secret and "default" in kwargs and kwargs["default"] is None)
    has_default = "default" in kwargs and (kwargs["default"] is not None or nullable)
    if has_default:
        prop["default"] = kwargs["default"]
    if nullable:
        prop["nullable"] = True
    for keyword, key in CONSTRAINTS.items():
        if kwargs.get(keyword) is not None:
            prop[key] = kwargs[keyword]
    is_required = not has_default and not optional
    return prop, is_required, enum


def _output_type(annotation: ast.expr | None) -> dict[str, Any]:
    json_type, _, optional = _input_type(annotation)
    if optional or "x-cog-secret" in json_type.get("items", json_type):
        raise SchemaError("unsupported output type")
    return json_type


def _document(
    input_schema: dict[str, Any], output_schema: dict[str, Any], enums: dict[str, Any]
) -> dict[str, Any]:
    """The fixed OpenAPI envelope cog puts around a predictor's Input and Output."""

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    def json_content(schema: dict[str, Any]) -> dict[str, Any]:
        return {"content": {"application/json": {"schema": schema}}}

    def success(schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": "Successful Response", **json_content(schema)}

    invalid = {"description": "Validation Error", **json_content(ref("HTTPValidationError"))}

    def string(title: str, **extra: str) -> dict[str, str]:
        return {"title": title, "type": "string", **extra}

    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": COG_VERSION},
        "paths": {
            "/": {
                "get": {
                    "summary": "Root",
                    "operationId": "root__get",
                    "responses": {"200": success({})},
                }
            },
            "/health-check": {
                "get": {
                    "summary": "Healthcheck",
                    "operationId": "healthcheck_health_check_get",
                    "responses": {"200": success({})},
                }
            },
            "/predictions": {
                "post": {
                    "summary": "Predict",
                    "description": "Run a single prediction on the model",
                    "operationId": "predict_predictions_post",
                    "requestBody": json_content(ref("PredictionRequest")),
                    "responses": {"200": success(ref("PredictionResponse")), "422": invalid},
                }
            },
            "/predictions/{prediction_id}/cancel": {
                "post": {
                    "summary": "Cancel",
                    "operationId": "cancel_predictions__prediction_id__cancel_post",
                    "parameters": [
                        {
                            "required": True,
                            "schema": string("Prediction Id"),
                            "name": "prediction_id",
                            "in": "path",
                        }
                    ],
                    "responses": {"200": success({}), "422": invalid},
                }
            },
        },
        "components": {
            "schemas": {
                "Input": input_schema,
                "Output": output_schema,
                **enums,
                "PredictionRequest": {
                    "title": "PredictionRequest",
                    "type": "object",
                    "properties": {"id": string("Id"), "input": ref("Input")},
                },
                "PredictionResponse": {
                    "title": "PredictionResponse",
                    "type": "object",
                    "properties": {
                        "input": ref("Input"),
                        "output": ref("Output"),
                        "id": string("Id"),
                        "version": string("Version"),
                        "created_at": string("Created At", format="date-time"),
                        "started_at": string("Started At", format="date-time"),
                        "completed_at": string("Completed At", format="date-time"),
                        "status": string("Status"),
                        "error": string("Error"),
                        "logs": string("Logs"),
                        "metrics": {"title": "Metrics", "type": "object"},
                    },
                },
                "Status": {
                    "title": "Status",
                    "description": "An enumeration.",
                    "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
                    "type": "string",
                },
                "HTTPValidationError": {
                    "title": "HTTPValidationError",
                    "type": "object",
                    "properties": {
                        "detail": {
                            "title": "Detail",
                            "type": "array",
                            "items": ref("ValidationError"),
                        }
                    },
                },
                "ValidationError": {
                    "title": "ValidationError",
                    "required": ["loc", "msg", "type"],
                    "type": "object",
                    "properties": {
                        "loc": {
                            "title": "Location",
                            "type": "array",
                            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                        },
                        "msg": string("Message"),
                        "type": string("Error Type"),
                    },
                },
            }
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="Write .cog/openapi_schema.json as cog build does."
    )
    parser.add_argument("-f", "--config", default=DEFAULT_CONFIG, help="the build's cog config")
    try:
        print(f"wrote {write_schema(parser.parse_args().config)}")
    except SchemaError as error:
        sys.exit(f"cannot generate the schema: {error}")
