"""Start the prediction server exactly as the container does, and talk HTTP to it.

`cog build [-f <config>]` bakes the config into the image as environment variables
and writes .cog/openapi_schema.json beside the project's files in /src; the
container then runs `python -m cog.server.http` there. This does the same on this
machine, without Docker: each server runs in a directory of its own that links to
the project's files and holds its build's schema, so servers of both builds can
start side by side.
"""

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from tools.cog_schema import DEFAULT_CONFIG, PROJECT_DIR, SCHEMA_PATH, write_schema

# coglet 0.23.1 makes /tmp/coglet/predictions/<id> for every prediction, whatever
# TMPDIR says, and never removes it (crates/coglet/src/service.rs).
COGLET_ROOT = Path("/tmp/coglet")
COGLET_PREDICTIONS = COGLET_ROOT / "predictions"
# coglet logs each prediction it starts with its id.
PREDICTION_ID = re.compile(r'"Starting prediction","prediction_id":"([A-Za-z0-9_-]+)"')


def remove_coglet_leftovers(logs: str) -> None:
    """Remove what coglet left in /tmp for the predictions named in a server's log,
    and nothing else: another server on the machine may be using its own."""
    for prediction_id in set(PREDICTION_ID.findall(logs)):
        shutil.rmtree(COGLET_PREDICTIONS / prediction_id, ignore_errors=True)
    for directory in (COGLET_PREDICTIONS, COGLET_ROOT):
        with contextlib.suppress(OSError):  # still in use by another server
            directory.rmdir()


def rss(pid: int) -> int:
    """Resident memory of one process, in bytes (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(status.split("VmRSS:")[1].split()[0]) * 1024


def path_with_this_python() -> str:
    """PATH with this interpreter's directory first: the server spawns its worker (and
    the pod its hook) as `python` from PATH."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def container_env(config: str = DEFAULT_CONFIG) -> dict[str, str]:
    """The variables `cog build -f <config>` sets in the image from the config."""
    settings = yaml.safe_load((PROJECT_DIR / config).read_text())
    env = {"COG_PREDICT_TYPE_STUB": settings["predict"]}
    if "concurrency" in settings:
        env["COG_MAX_CONCURRENCY"] = str(settings["concurrency"]["max"])
    for entry in settings.get("environment") or []:
        name, _, value = entry.partition("=")
        env[name] = value
    return env


class CogServer:
    """One `python -m cog.server.http` process on a free port of 127.0.0.1."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        upload_url: str | None = None,
        port: int | None = None,
        config: str = DEFAULT_CONFIG,
    ) -> None:
        self.config = config
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env or {}
        self.upload_url = upload_url
        # Everything the server writes (its log, cog's downloaded inputs, the
        # worker's outputs) goes in a directory of its own, removed by stop().
        self.tmp = Path(tempfile.mkdtemp(prefix="cog-server-"))
        self.log_path = self.tmp / "server.log"
        self.src = self.tmp / "src"  # the image's /src
        self._final_logs: str | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> "CogServer":
        self.src.mkdir()
        for entry in PROJECT_DIR.iterdir():
            if entry.name != SCHEMA_PATH.parts[0]:
                (self.src / entry.name).symlink_to(entry)
        write_schema(self.config, self.src)
        env = {
            **os.environ,
            **container_env(self.config),
            "TMPDIR": str(self.tmp),
            **self.env,
            "PORT": str(self.port),
            "PATH": path_with_this_python(),
        }
        command = [sys.executable, "-m", "cog.server.http", "--host", "127.0.0.1"]
        if self.upload_url:
            command += ["--upload-url", self.upload_url]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.src, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()  # nothing is left behind by a server that never came up
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"cog server exited:\n{self.logs()}")
            try:
                health = requests.get(f"{self.url}/health-check", timeout=1).json()
                if health.get("status") == "READY":
                    return
                if health.get("status") == "SETUP_FAILED":
                    raise RuntimeError(f"setup failed:\n{self.logs()}")
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"cog server not ready after {timeout}s:\n{self.logs()}")

    def predict(self, inputs: dict[str, Any], timeout: float = 60, **headers: str) -> dict:
        """Run one prediction and return the server's JSON answer.

        A slot returns to the server's pool only once the worker confirms it is
        idle, a moment after the previous answer was sent; until then the server
        answers 409. Like any client of a cog server, retry that briefly.
        """
        deadline = time.monotonic() + timeout
        while True:
            response = requests.post(
                f"{self.url}/predictions", json={"input": inputs}, headers=headers, timeout=timeout
            )
            if response.status_code != 409 or time.monotonic() > deadline:
                try:
                    return {"http_status": response.status_code, **response.json()}
                except ValueError:  # not JSON: the server refused the request itself
                    error = f"{response.status_code} {response.reason}: {response.text[:200]}"
                    return {"http_status": response.status_code, "status": "failed", "error": error}
            time.sleep(0.05)

    def worker_pid(self) -> int:
        """The Python worker that runs predict(), a child of coglet's server process."""
        assert self.process is not None
        found = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            found += (task / "children").read_text().split()
        (worker,) = found
        return int(worker)

    def logs(self) -> str:
        if self._final_logs is not None:
            return self._final_logs
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the server and remove its directory; its logs stay readable."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._final_logs is None:
            self._final_logs = self.logs()
            shutil.rmtree(self.tmp, ignore_errors=True)
            remove_coglet_leftovers(self._final_logs)
