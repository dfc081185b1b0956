"""Run the package behind a real LiteLLM proxy, and say what passes through.

Everything runs on 127.0.0.1: the stand-in OpenAI server (in this process), a LiteLLM
proxy in front of it (its own venv: LiteLLM is not one of this project's
dependencies), and the prediction server of each build twice, once pointed at the
stand-in and once at the proxy. The same predictions go both ways, and what reached
the stand-in and what came back are compared: parameters, images, the key, usage,
errors and retries, a large answer. Not part of the test suite; docs/gateways-litellm.md
has its results and how to install LiteLLM for it:

    .venv/bin/python -m tools.litellm_check --litellm /work/litellm-venv/bin/litellm \
        [--json results.json]
"""

import argparse
import base64
import io
import json
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import requests
import yaml
from PIL import Image

from tools.cog_schema import DEFAULT_CONFIG, GPT_IMAGE_2_CONFIG
from tools.cog_server import CogServer, free_port, rss
from tools.openai_standin import RATE_LIMITED, StandIn

# The key the stand-in takes as an OpenAI key: here the proxy's upstream key, or the
# caller's own when the prediction server talks to the stand-in directly.
OPENAI_KEY = "sk-test-0123456789abcdefXYZ"
# The stand-in's today, as in the tests: gpt-image-1.5 (input_fidelity) is still live.
TODAY = date(2026, 11, 25)
# LiteLLM routes by the request's `model`: every model name goes to the stand-in.
PROXY_CONFIG: dict[str, Any] = {
    "model_list": [
        {
            "model_name": "*",
            "litellm_params": {
                "model": "openai/*",
                "api_base": "os.environ/UPSTREAM_BASE_URL",
                "api_key": "os.environ/UPSTREAM_OPENAI_KEY",
            },
        }
    ],
    "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
}
# Builds, and the model behind them: gpt-image-1.5 is the model that takes input_fidelity.
BUILDS = (
    (DEFAULT_CONFIG, {}),
    (DEFAULT_CONFIG, {"OPENAI_IMAGE_MODEL": "gpt-image-1.5"}),
    (GPT_IMAGE_2_CONFIG, {}),
)
MODERATION_BLOCKED = {
    "error": {
        "message": "Your request was rejected by the safety system. safety_violations=[sexual].",
        "type": "image_generation_user_error",
        "param": None,
        "code": "moderation_blocked",
    }
}
INVALID_KEY = {
    "error": {
        "message": "Incorrect API key provided: sk-test-***XYZ.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}


def png_data_uri() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@dataclass
class Case:
    """One prediction, and what the stand-in does with its first attempts."""

    name: str
    inputs: dict[str, Any]
    failure: tuple[int, dict[str, Any], dict[str, str], int] | None = (
        None  # status, body, headers, times
    )
    heavy: bool = False
    own_openai_key: bool = False  # the caller sends an OpenAI key, whatever the route


def cases(config: str, model_env: dict[str, str]) -> list[Case]:
    image = [png_data_uri()]
    everything = {
        "quality": "high",
        "background": "transparent",
        "output_format": "webp",
        "output_compression": 50,
        "moderation": "low",
        "user_id": "user-42",
    }
    size = {"aspect_ratio": "2048x1152" if config == GPT_IMAGE_2_CONFIG else "3:2"}
    fidelity = {} if config == GPT_IMAGE_2_CONFIG else {"input_fidelity": "high"}
    if model_env:  # gpt-image-1.5: only what input_fidelity needs
        return [Case("multipart edit, input_fidelity", {"input_images": image, **fidelity})]
    return [
        Case("generation, every parameter", {**everything, **size, "number_of_images": 2}),
        Case("multipart edit", {"input_images": image, **fidelity, **size, "user_id": "user-42"}),
        Case("JSON edit (moderation low)", {"input_images": image, **everything}),
        Case("upstream 401", {}, (401, INVALID_KEY, {}, 1)),
        Case("upstream 400 moderation_blocked", {}, (400, MODERATION_BLOCKED, {}, 1)),
        Case("upstream 429 once, retry-after 1", {}, (429, RATE_LIMITED, {"retry-after": "1"}, 1)),
        Case(
            "upstream 429 always, retry-after 1", {}, (429, RATE_LIMITED, {"retry-after": "1"}, 20)
        ),
        Case(
            "large answer: 10 images 1536x1024 png",
            {
                "number_of_images": 10,
                "quality": "high",
                "output_format": "png",
                "aspect_ratio": "3:2",
            },
            heavy=True,
        ),
        Case("the caller's own OpenAI key", {}, own_openai_key=True),
    ]


@dataclass
class Outcome:
    """What one prediction did, as the caller and the stand-in saw it."""

    status: str
    error: str | None
    outputs: int
    metrics: dict[str, Any]
    seconds: float
    attempts: int  # requests that reached the stand-in
    upstream: list[dict[str, Any]] = field(default_factory=list)


def upstream_view(standin: StandIn, caller_key: str) -> list[dict[str, Any]]:
    """Each request the stand-in received: path, form, parameters, images, whose key."""
    seen = []
    for request in standin.requests:
        params = request.params
        images = params.pop("images", None)
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        whose = {OPENAI_KEY: "the proxy's upstream key", caller_key: "the caller's"}.get(
            bearer, "?"
        )
        seen.append(
            {
                "path": request.path,
                "form": "JSON" if request.json is not None else "multipart",
                "params": {k: v for k, v in sorted(params.items()) if k != "prompt"},
                "content_type": request.headers.get("content-type", "").split(";")[0],
                "images": len(images) if images is not None else len(request.files),
                "answer_mb": round(sum(map(len, request.response_images)) / 1e6, 1),
                "files": [(f.field, f.filename, f.content_type) for f in request.files],
                "key": whose,
            }
        )
    return seen


def run(server: CogServer, standin: StandIn, case: Case, key: str) -> Outcome:
    key = OPENAI_KEY if case.own_openai_key else key
    standin.reset()
    standin.heavy = case.heavy
    if case.failure:
        status, body, headers, times = case.failure
        standin.fail_next(status, body, headers=headers, times=times)
    started = time.monotonic()
    answer = server.predict({"openai_api_key": key, "prompt": "a lighthouse", **case.inputs}, 300)
    seconds = round(time.monotonic() - started, 2)
    standin.heavy = False
    return Outcome(
        status=answer.get("status", "?"),
        error=answer.get("error"),
        outputs=len(answer.get("output") or []),
        metrics=answer.get("metrics") or {},
        seconds=seconds,
        attempts=len(standin.requests),
        upstream=upstream_view(standin, key),
    )


class ProxyRefused(RuntimeError):
    """LiteLLM exited instead of serving."""


@contextmanager
def litellm_proxy(
    litellm: str,
    upstream: str,
    master_key: str | None,
    permit_weak: bool = False,
    router_settings: dict[str, Any] | None = None,
) -> Iterator[tuple[str, int]]:
    """A LiteLLM proxy on a free port of 127.0.0.1; yields its base URL and pid.
    `master_key` None: no master key at all (LiteLLM's "no auth")."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="litellm-check-") as tmp:
        settings = dict(PROXY_CONFIG)
        if master_key is None:
            settings.pop("general_settings")
        if router_settings:
            settings["router_settings"] = router_settings
        config = Path(tmp) / "config.yaml"
        config.write_text(yaml.safe_dump(settings, sort_keys=False))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")},
            "UPSTREAM_BASE_URL": upstream,
            "UPSTREAM_OPENAI_KEY": OPENAI_KEY,
            # Its price table from the package, not fetched from GitHub at start.
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            **({"LITELLM_MASTER_KEY": master_key} if master_key else {}),
            **(
                {"LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true"}
                if permit_weak
                else {}
            ),
        }
        log = Path(tmp) / "proxy.log"
        command = [litellm, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while True:
                if process.poll() is not None:
                    raise ProxyRefused(log.read_text())
                try:
                    if requests.get(f"{url}/health/liveliness", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"LiteLLM not up:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            yield url, process.pid
        finally:
            process.terminate()
            process.wait(30)


def raw_probes(proxy: str, standin: StandIn, master_key: str) -> dict[str, Any]:
    """Plain HTTP, no SDK: the answer's fields and headers, direct and through the proxy."""
    body = {"model": "gpt-image-2.5-sunburst", "prompt": "a fox", "quality": "low", "n": 1}
    found: dict[str, Any] = {}
    bearer = {"Authorization": f"Bearer {master_key}"}
    for name, url, key in (
        ("direct", standin.base_url, OPENAI_KEY),
        ("proxy", proxy, master_key),
    ):
        headers = {"Authorization": f"Bearer {key}"}
        standin.reset()
        answer = requests.post(f"{url}/images/generations", json=body, headers=headers, timeout=60)
        fields = {k: v for k, v in answer.json().items() if k != "data"}
        standin.reset()
        standin.fail_next(429, RATE_LIMITED, headers={"retry-after": "7"})
        limited = requests.post(f"{url}/images/generations", json=body, headers=headers, timeout=60)
        found[name] = {
            "fields": fields,
            "data_keys": sorted(answer.json()["data"][0]),
            "429_status": limited.status_code,
            "429_retry_after": limited.headers.get("retry-after"),
            "429_body": limited.json() if limited.status_code != 200 else "(images)",
            "429_attempts_upstream": len(standin.requests),
        }
    standin.reset()
    standin.fail_next(400, MODERATION_BLOCKED)
    blocked = requests.post(f"{proxy}/images/generations", json=body, headers=bearer, timeout=60)
    found["moderation_blocked_at_proxy"] = {"status": blocked.status_code, "body": blocked.json()}
    standin.reset()
    standin.fail_next(429, RATE_LIMITED, headers={"retry-after": "1"}, times=20)
    started = time.monotonic()
    limited = requests.post(f"{proxy}/images/generations", json=body, headers=bearer, timeout=120)
    found["429_always_at_proxy"] = {
        "status": limited.status_code,
        "retry_after": limited.headers.get("retry-after"),
        "body": limited.json(),
        "attempts_upstream": len(standin.requests),
        "seconds": round(time.monotonic() - started, 1),
    }
    standin.reset()
    edit = {**body, "images": [{"image_url": png_data_uri()}], "moderation": "low"}
    edited = requests.post(f"{proxy}/images/edits", json=edit, headers=bearer, timeout=60)
    found["json_edit_at_proxy"] = {
        "status": edited.status_code,
        "body": edited.text[:600],
        "upstream": [
            {
                "content_type": r.headers.get("content-type"),
                "content_length": r.headers.get("content-length"),
                "params": r.params,
            }
            for r in standin.requests
        ],
    }
    standin.reset()
    passthrough = requests.post(
        f"{proxy}/images/generations",
        json=body,
        headers={"Authorization": f"Bearer {OPENAI_KEY}"},
        timeout=60,
    )
    found["caller_openai_key_at_proxy"] = {
        "status": passthrough.status_code,
        "body": passthrough.text[:400],
        "reached_upstream": len(standin.requests),
    }
    word = requests.post(
        f"{proxy}/images/generations",
        json=body,
        headers={"Authorization": "Bearer anything"},
        timeout=60,
    )
    found["key_anything_at_proxy"] = {"status": word.status_code, "body": word.text[:400]}
    return found


def startup_checks(litellm: str, upstream: str) -> dict[str, Any]:
    """Whether the proxy starts with the keys LiteLLM's quick start shows, and whether
    a proxy without a master key then takes any key, such as `anything`."""
    found: dict[str, Any] = {}
    body = {"model": "gpt-image-2.5-sunburst", "prompt": "a fox", "quality": "low"}
    for name, key, permit in (
        ("master key sk-1234", "sk-1234", False),
        ("no master key", None, False),
        ("no master key, weak keys permitted", None, True),
    ):
        try:
            with litellm_proxy(litellm, upstream, key, permit) as (url, _):
                answer = requests.post(
                    f"{url}/images/generations",
                    json=body,
                    headers={"Authorization": "Bearer anything"},
                    timeout=60,
                )
                found[name] = {"started": True, "with key 'anything'": answer.status_code}
        except ProxyRefused as refusal:
            lines = [line for line in str(refusal).splitlines() if "refused to start" in line]
            found[name] = {"started": False, "why": lines[-1] if lines else str(refusal)[-500:]}
    return found


def retries_turned_off(litellm: str, standin: StandIn, master_key: str) -> dict[str, Any]:
    """With `num_retries: 0` in router_settings, does one 429 reach the caller at once?"""
    no_retries = {"num_retries": 0}
    with litellm_proxy(litellm, standin.base_url, master_key, router_settings=no_retries) as proxy:
        url = proxy[0]
        standin.reset()
        standin.fail_next(429, RATE_LIMITED, headers={"retry-after": "1"}, times=5)
        answer = requests.post(
            f"{url}/images/generations",
            json={"model": "gpt-image-2", "prompt": "a fox"},
            headers={"Authorization": f"Bearer {master_key}"},
            timeout=60,
        )
        found = {
            "status": answer.status_code,
            "attempts_upstream": len(standin.requests),
            "retry_after": answer.headers.get("retry-after"),
        }
        standin.reset()  # the failures left unused
        return found


def compare(
    config: str,
    model_env: dict[str, str],
    standin: StandIn,
    routes: dict[str, tuple[str, str]],
    proxy_pid: int,
) -> dict[str, Any]:
    """Every case of one build, by each route (base URL, the caller's key)."""
    build: dict[str, Any] = {"config": config, "env": model_env, "logs": {}}
    build["cases"] = [{"name": case.name} for case in cases(config, model_env)]
    for route, (base_url, key) in routes.items():
        env = {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "", **model_env}
        server = CogServer(env=env, config=config).start()
        try:
            for number, case in enumerate(cases(config, model_env)):
                before = rss(proxy_pid)
                outcome = asdict(run(server, standin, case, key))
                outcome["proxy_rss_mb"] = [before // 2**20, rss(proxy_pid) // 2**20]
                build["cases"][number][route] = outcome
        finally:
            server.stop()
            build["logs"][route] = server.logs()[-4000:]
    return build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--litellm", required=True, help="the litellm command of its own venv")
    parser.add_argument("--json", type=Path, help="write every observation here too")
    args = parser.parse_args()
    version = subprocess.run(
        [
            str(Path(args.litellm).parent / "python"),
            "-c",
            "import litellm, importlib.metadata as m; print(m.version('litellm'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"LiteLLM {version}")
    master_key = "sk-" + secrets.token_hex(24)  # LiteLLM refuses a weak or known one
    standin = StandIn(today=TODAY)
    standin.start()
    results: dict[str, Any] = {"litellm": version, "proxy_config": PROXY_CONFIG, "builds": []}
    try:
        with litellm_proxy(args.litellm, standin.base_url, master_key) as (proxy, proxy_pid):
            results["raw"] = raw_probes(proxy, standin, master_key)
            print(json.dumps(results["raw"], indent=2))
            routes = {"direct": (standin.base_url, OPENAI_KEY), "proxy": (proxy, master_key)}
            for config, model_env in BUILDS:
                build = compare(config, model_env, standin, routes, proxy_pid)
                results["builds"].append(build)
                print_build(build)
        results["num_retries_0"] = retries_turned_off(args.litellm, standin, master_key)
        results["startup"] = startup_checks(args.litellm, standin.base_url)
        print(json.dumps({k: results[k] for k in ("num_retries_0", "startup")}, indent=2))
    finally:
        standin.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def print_build(build: dict[str, Any]) -> None:
    print(f"\n## {build['config']} {build['env'] or ''}")
    for case in build["cases"]:
        direct, proxy = case["direct"], case["proxy"]
        same = direct["upstream"] == proxy["upstream"] or [
            {**u, "key": None} for u in direct["upstream"]
        ] == [{**u, "key": None} for u in proxy["upstream"]]
        print(f"\n### {case['name']}")
        for route in ("direct", "proxy"):
            o = case[route]
            print(
                f"{route:6} {o['status']:9} outputs={o['outputs']} attempts={o['attempts']} "
                f"{o['seconds']} s metrics={o['metrics']} proxy_rss_mb={o['proxy_rss_mb']}"
            )
            if o["error"]:
                print(f"       error: {o['error']}")
        print(f"upstream requests the same apart from the key: {same}")
        if not same:
            print(f"  direct: {json.dumps(direct['upstream'])}")
            print(f"  proxy:  {json.dumps(proxy['upstream'])}")
        else:
            print(f"  {json.dumps(direct['upstream'])}")


if __name__ == "__main__":
    main()
