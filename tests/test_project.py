"""The project's own checks: lint and format clean, and CI runs the README's command."""

import re
import subprocess
import sys
from pathlib import Path

import ijson
import pytest
import yaml

from tools.cog_schema import PROJECT_DIR

RUFF = [sys.executable, "-m", "ruff"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_is_clean(command: list[str]) -> None:
    result = subprocess.run(
        [*RUFF, *command, "."], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs exactly the README's one test command, and the README's other
    newcomer command sets up the same way."""
    ci_command = (PROJECT_DIR / ".ci" / "run").read_text().strip().splitlines()[-1]
    readme = (PROJECT_DIR / "README.md").read_text().splitlines()
    assert [line for line in readme if "pytest" in line] == [ci_command]
    set_up = ci_command.rsplit(" && ", 1)[0]
    newcomer = [line for line in readme if line.startswith("python3 -m venv")]
    assert len(newcomer) == 2 and all(line.startswith(f"{set_up} && ") for line in newcomer)


def test_no_document_puts_a_key_on_a_command_line() -> None:
    """The README tells readers never to: `ps` shows a process's arguments to every user."""
    commands = [
        line
        for document in [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
        for block in re.findall(r"```console\n(.*?)```", document.read_text(), re.DOTALL)
        for line in block.splitlines()
    ]
    assert [line for line in commands if re.search(r"openai_api_key\W+sk-", line)] == []


def test_dockerignore_keeps_the_image_to_what_it_runs() -> None:
    lines = Path(PROJECT_DIR / ".dockerignore").read_text().splitlines()
    ignored = {line for line in lines if line and not line.startswith("#")}
    assert {
        ".git",
        ".venv",
        "tests",
        "tools",
        "**/__pycache__",
        ".pytest_cache",
        "outputs",
    } <= ignored
    assert not {"predict.py", "gpt_image", "cog.yaml", "requirements.txt", ".cog"} & ignored


def test_the_image_pins_the_cog_and_coglet_the_tests_ran() -> None:
    """cog.yaml's sdk_version pins the SDK but not coglet (cog 0.23.1 installs the
    newest coglet below 1.0 unless COGLET_WHEEL=pypi:<version> says otherwise, see
    its pkg/wheels/wheels.go), so every README command that builds an image sets it."""
    config = yaml.safe_load((PROJECT_DIR / "cog.yaml").read_text())
    pins = dict(
        line.split("==")
        for line in (PROJECT_DIR / "requirements-dev.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert config["build"]["sdk_version"] == pins["cog"] == pins["coglet"]
    readme = (PROJECT_DIR / "README.md").read_text()
    builds = [
        line
        for line in readme.splitlines()
        if re.match(r"^(\S+=\S+ )*cog (build|push|predict)", line)
    ]
    assert builds
    for line in builds:
        assert line.startswith(f"COGLET_WHEEL=pypi:{pins['coglet']} cog "), line


def test_answers_are_parsed_by_ijsons_c_backend() -> None:
    # ijson falls back to pure Python without a word when its C extension is
    # missing; that backend is many times slower and would hold the event loop.
    assert ijson.backend == "yajl2_c"
