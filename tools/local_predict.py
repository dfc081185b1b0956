"""Run the model on this machine, without Docker: one prediction, or a server.

It starts the prediction server as the container does, pointed at the stand-in
OpenAI server on this machine: nothing is billed and no network is needed. With
--real it calls OpenAI itself and bills your OpenAI account; the key comes from
OPENAI_API_KEY or is asked for (never from the command line, where `ps` shows it).
OPENAI_IMAGE_MODEL and the other OPENAI_* settings of your shell win over cog.yaml's,
as `docker run -e` does.

    python -m tools.local_predict "a watercolor fox in the snow"
    python -m tools.local_predict -i prompt="make it night" -i input_images=@samples/inputs/cat.png
    python -m tools.local_predict --request samples/edit.json --out samples/outputs/edit
    python -m tools.local_predict --real "a watercolor fox in the snow"
    python -m tools.local_predict --serve 5000      # then: bash samples/replay.sh
    python -m tools.local_predict -f cog.gpt-image-2.yaml -i aspect_ratio=16:9 "a fox"
    python -m tools.local_predict -f cog.gpt-image-2.5-flare.yaml -i quality=max "a fox"

-f (as in `cog predict -f`) picks the build: cog.yaml, gpt-image-1's interface, by
default; cog.gpt-image-2.yaml, gpt-image-2's; cog.gpt-image-2.5-sunburst.yaml or
cog.gpt-image-2.5-flare.yaml, the GPT Image 2.5 models'.
"""

import argparse
import base64
import getpass
import json
import mimetypes
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from tools.cog_schema import DEFAULT_CONFIG, PROJECT_DIR, generate_schema
from tools.cog_server import CogServer, container_env
from tools.openai_standin import StandIn

# What the stand-in accepts as a key; it never leaves this machine.
STANDIN_KEY = "sk-standin-local-run-0123"


class UsageError(Exception):
    """A bad argument or file: said in one line, with a non-zero exit."""


def parse_inputs(pairs: list[str], config: str) -> dict[str, Any]:
    """`name=value` pairs, typed by the build's schema; `@file` sends a file."""
    properties = generate_schema(config)["components"]["schemas"]["Input"]["properties"]
    inputs: dict[str, Any] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or name not in properties:
            raise UsageError(f"-i takes name=value, with name one of: {', '.join(properties)}")
        if properties[name].get("type") == "array":
            inputs.setdefault(name, []).append(_file_uri(name, value))
        elif properties[name].get("type") == "integer":
            inputs[name] = _integer(name, value)
        else:
            inputs[name] = value
    return inputs


def _integer(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{name} takes a whole number, not {value!r}") from None


def _file_uri(name: str, value: str) -> str:
    if not value.startswith("@"):
        return value  # already a URL or data URI
    path = Path(value[1:])
    if not path.is_file():
        raise UsageError(f"{name}: there is no file {path}")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def read_request(path: Path | None) -> dict[str, Any]:
    """The "input" of a request body such as samples/edit.json."""
    if path is None:
        return {}
    try:
        inputs = json.loads(path.read_text())["input"]
    except FileNotFoundError:
        raise UsageError(f"--request: there is no file {path}") from None
    except (ValueError, KeyError, TypeError):
        raise UsageError(f'--request: {path} is not a JSON body with an "input" object') from None
    if not isinstance(inputs, dict):
        raise UsageError(f'--request: {path} is not a JSON body with an "input" object')
    return inputs


def real_key() -> str:
    key = os.environ.get("OPENAI_API_KEY", "").strip()
    if key:
        return key
    if not sys.stdin.isatty():
        raise UsageError("--real needs a key: set OPENAI_API_KEY, or run it in a terminal")
    return getpass.getpass("OpenAI API key (not shown): ").strip()


def output_directory(out: Path | None) -> Path:
    """Where this run's images go: --out, emptied of an earlier run's images, or a new
    directory under outputs/ named by the time."""
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("output_*.*"):
            old.unlink()
        return out
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        directory = Path("outputs") / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            directory.mkdir(parents=True)
            return directory
        except FileExistsError:
            continue
    raise UsageError("outputs/ has no free name left for this second; try again")


def save_outputs(outputs: list[str], directory: Path) -> list[Path]:
    """Write the server's data URI outputs as output_<i>.<format>."""
    paths = []
    for index, uri in enumerate(outputs):
        header, _, payload = uri.partition(",")
        extension = header.removeprefix("data:image/").removesuffix(";base64")
        path = directory / f"output_{index}.{extension}"
        path.write_bytes(base64.b64decode(payload))
        paths.append(path)
    return paths


def server_env(standin: StandIn | None, config: str) -> dict[str, str]:
    """The shell's value of every setting of the config it sets too; against the
    stand-in, its URL, and no OPENAI_API_KEY: the shell's key never leaves for it."""
    env = {name: os.environ[name] for name in container_env(config) if name in os.environ}
    if standin is not None:
        env["OPENAI_BASE_URL"] = standin.start()
        env["OPENAI_API_KEY"] = ""
    return env


def setup_failure(logs: str) -> str:
    """The reason setup gave, such as "OPENAI_TIMEOUT must be ...", from coglet's log."""
    reasons = re.findall(r'[A-Za-z]+Error: ([^"\\]+)', logs)
    return reasons[-1] if reasons else "see the server's log above."


def serve(server: CogServer) -> NoReturn:
    print(f"Serving predictions at {server.url} until Ctrl-C.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # clean up on kill too
    while True:
        time.sleep(3600)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prompt", nargs="?", help="the same as -i prompt=...")
    parser.add_argument("-i", "--input", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--request", type=Path, help="a JSON request body, as in samples/")
    parser.add_argument("--real", action="store_true", help="call OpenAI: bills your account")
    parser.add_argument("--out", type=Path, help="default: a new directory under outputs/")
    parser.add_argument("--serve", type=int, metavar="PORT", help="serve until Ctrl-C")
    parser.add_argument(
        "-f",
        "--config",
        default=DEFAULT_CONFIG,
        help="the build: cog.yaml, cog.gpt-image-2.yaml, cog.gpt-image-2.5-sunburst.yaml or "
        "cog.gpt-image-2.5-flare.yaml",
    )
    args = parser.parse_args()

    if args.real:
        print("Calling the real OpenAI API: predictions are billed to your OpenAI account.")
    else:
        print("Using the stand-in OpenAI server on this machine: nothing is billed.", flush=True)
    try:
        if not (PROJECT_DIR / args.config).is_file():
            raise UsageError(f"-f: there is no config {args.config} in {PROJECT_DIR}")
        inputs = read_request(args.request)
        inputs |= parse_inputs(args.input, args.config)
        if args.prompt is not None:
            inputs["prompt"] = args.prompt
        if "prompt" not in inputs and not args.serve:
            raise UsageError("give a prompt: as the first argument, -i prompt=..., or --request")
        key = real_key() if args.real and not args.serve else STANDIN_KEY
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    return run(args, inputs, key)


def run(args: argparse.Namespace, inputs: dict[str, Any], key: str) -> int:
    """Start the servers, make the prediction (or serve), save the images."""
    standin = None if args.real else StandIn()
    server = CogServer(env=server_env(standin, args.config), port=args.serve, config=args.config)
    try:
        server.start()
        if args.serve:
            serve(server)
        result = server.predict({**inputs, "openai_api_key": key}, timeout=900)
    except KeyboardInterrupt:
        return 130
    except (RuntimeError, TimeoutError):  # setup failed: its reason is in the server's log
        print(
            f"The prediction server did not start: {setup_failure(server.logs())}", file=sys.stderr
        )
        return 1
    finally:
        server.stop()
        if standin:
            standin.stop()

    print(result.get("logs") or "", end="", flush=True)
    if result.get("status") != "succeeded":
        print(result.get("error") or f"Prediction {result.get('status')}.", file=sys.stderr)
        return 1
    for path in save_outputs(result["output"], output_directory(args.out)):
        print(f"Saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
