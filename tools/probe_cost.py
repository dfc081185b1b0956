"""What the pod's probes cost its container, in CPU: the Deployment's httpGet probes
against the predictor's port, beside the exec probes they replaced (a Python started
to read coglet's /health-check), both against the real prediction server.

    python -m tools.probe_cost [--count 200]

It prints the CPU seconds each probe costs the container (the worker and coglet; for
an exec probe, its own Python too) and the share of a core that costs at the
Deployment's probe periods. The kubelet's own side (an HTTP GET; for exec, runc
starting a process in the container) is not counted.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.test_manifests import MODEL, SETTINGS
from tools.cog_server import CogServer, free_port
from tools.openai_standin import StandIn

# The probe the Deployment ran before (deploy/kubernetes, until 2026-12-03): every 2 s.
EXEC_PROBE = (
    "import json, sys, urllib.request; sys.exit(json.load(urllib.request.urlopen("
    '"http://127.0.0.1:{port}/health-check", timeout=3))["status"] != "READY")'
)
EXEC_PERIOD_SECONDS = 2


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def container_cpu(server: CogServer) -> float:
    assert server.process is not None
    return cpu_seconds(server.process.pid) + cpu_seconds(server.worker_pid())


def http_probe_cost(server: CogServer, path: str, count: int) -> float:
    url = f"http://127.0.0.1:{server.env['METRICS_PORT']}{path}"
    before = container_cpu(server)
    with requests.Session() as session:
        for _ in range(count):
            assert session.get(url, timeout=15).status_code == 200
    return (container_cpu(server) - before) / count


def exec_probe_cost(server: CogServer, count: int) -> float:
    command = [sys.executable, "-I", "-S", "-c", EXEC_PROBE.format(port=server.port)]
    before_server = container_cpu(server)
    before_children = os.times()
    for _ in range(count):
        subprocess.run(command, check=True)
    after_children = os.times()
    children = (after_children.children_user - before_children.children_user) + (
        after_children.children_system - before_children.children_system
    )
    return (container_cpu(server) - before_server + children) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="probes of each kind")
    args = parser.parse_args()
    openai = StandIn()
    openai.start()
    env = {**SETTINGS, "OPENAI_BASE_URL": openai.base_url, "METRICS_PORT": str(free_port())}
    server = CogServer(env=env).start()
    try:
        ready = http_probe_cost(server, MODEL["readinessProbe"]["httpGet"]["path"], args.count)
        live = http_probe_cost(server, MODEL["livenessProbe"]["httpGet"]["path"], args.count)
        old = exec_probe_cost(server, args.count)
    finally:
        server.stop()
        openai.stop()
    periods = {kind: MODEL[kind]["periodSeconds"] for kind in ("readinessProbe", "livenessProbe")}
    share = ready / periods["readinessProbe"] + live / periods["livenessProbe"]
    # Before: readiness every 2 s, liveness every 10 s, both exec.
    old_share = old / EXEC_PERIOD_SECONDS + old / 10
    print(f"{args.count} probes of each kind, {os.cpu_count()} cores")
    print("| probe | CPU per probe (ms) | period (s) |")
    print("| --- | ---: | ---: |")
    print(f"| httpGet /ready | {ready * 1000:.2f} | {periods['readinessProbe']} |")
    print(f"| httpGet /live | {live * 1000:.2f} | {periods['livenessProbe']} |")
    print(f"| exec python (before) | {old * 1000:.2f} | {EXEC_PERIOD_SECONDS} and 10 |")
    print(f"Share of a core per pod: {share:.3%} now, {old_share:.3%} before.")


if __name__ == "__main__":
    main()
