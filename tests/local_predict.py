"""Run the model on this machine, without Docker: one prediction, or a server.

It starts the prediction server as the container does. Without an OpenAI key it
points the server at the stand-in OpenAI server, so it costs nothing and needs
no network; with a key (--key or OPENAI_API_KEY) it calls the real OpenAI.

    python -m tests.local_predict "a watercolor fox in the snow"
    python -m tests.local_predict "make it night" -i input_images=@samples/inputs/cat.png
    python -m tests.local_predict --request samples/edit.json --out samples/outputs/edit
    python -m tests.local_predict --serve 5000      # then: bash samples/replay.sh
"""

import argparse
import base64
import json
import mimetypes
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from tests.cog_schema import generate_schema
from tests.cog_server import CogServer
from tests.openai_standin import StandIn

# What the stand-in accepts as a key; it never leaves this machine.
STANDIN_KEY = "sk-standin-local-run"


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """`name=value` pairs, typed by the model's schema; `@file` sends a file."""
    properties = generate_schema()["components"]["schemas"]["Input"]["properties"]
    inputs: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in properties:
            sys.exit(f"unknown input {name!r}; inputs are: {', '.join(properties)}")
        if properties[name].get("type") == "array":
            inputs.setdefault(name, []).append(_file_uri(value))
        elif properties[name].get("type") == "integer":
            inputs[name] = int(value)
        else:
            inputs[name] = value
    return inputs


def _file_uri(value: str) -> str:
    if not value.startswith("@"):
        return value  # already a URL or data URI
    path = Path(value[1:])
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def save_outputs(outputs: list[str], directory: Path) -> list[Path]:
    """Write the server's data URI outputs as output_<i>.<format>."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, uri in enumerate(outputs):
        header, _, payload = uri.partition(",")
        extension = header.removeprefix("data:image/").removesuffix(";base64")
        path = directory / f"output_{index}.{extension}"
        path.write_bytes(base64.b64decode(payload))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prompt", nargs="?")
    parser.add_argument("-i", "--input", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--request", type=Path, help="a JSON request body, as in samples/")
    parser.add_argument("--key", help="a real OpenAI key (default: $OPENAI_API_KEY)")
    parser.add_argument("--out", type=Path, default=Path("outputs"), help="default: outputs/")
    parser.add_argument("--serve", type=int, metavar="PORT", help="serve until Ctrl-C")
    args = parser.parse_args()
    if not (args.prompt or args.request or args.serve):
        parser.error("give a prompt, --request or --serve")

    key = args.key or os.environ.get("OPENAI_API_KEY")
    standin = None if key else StandIn()
    env = {"OPENAI_BASE_URL": standin.start()} if standin else {}
    print("Using the real OpenAI API." if key else "No OpenAI key: using the stand-in server.")
    server = CogServer(env=env, port=args.serve)
    try:
        server.start()
        if args.serve:
            print(f"Serving predictions at {server.url} until Ctrl-C.")
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # clean up on kill too
            while True:
                time.sleep(3600)
        inputs = json.loads(args.request.read_text())["input"] if args.request else {}
        if args.prompt:
            inputs["prompt"] = args.prompt
        inputs = {**inputs, **parse_inputs(args.input), "openai_api_key": key or STANDIN_KEY}
        result = server.predict(inputs, timeout=900)
    except KeyboardInterrupt:
        return
    finally:
        server.stop()
        if standin:
            standin.stop()

    print(result.get("logs") or "", end="")
    if result.get("status") != "succeeded":
        sys.exit(f"Prediction {result.get('status', 'failed')}: {result.get('error') or result}")
    for path in save_outputs(result["output"], args.out):
        print(f"Saved {path}")


if __name__ == "__main__":
    main()
