"""The README's local runner, run as a newcomer runs it: it never bills unless asked,
says what went wrong in one line, and keeps each run's images apart."""

import os
import subprocess
import sys
from pathlib import Path

from tools.cog_schema import PROJECT_DIR


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_DIR), **env}
    return subprocess.run(
        [sys.executable, "-m", "tools.local_predict", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_key_in_the_shell_is_not_used_without_real(tmp_path: Path) -> None:
    first = run(
        tmp_path,
        "-i",
        "prompt=a fox",
        "-i",
        "number_of_images=2",
        OPENAI_API_KEY="sk-real-key-that-must-not-be-used-0123",
        OPENAI_IMAGE_MODEL="gpt-image-2.6-flare",
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Using the stand-in OpenAI server on this machine")
    assert "Model: gpt-image-2.6-flare (set by OPENAI_IMAGE_MODEL)." in first.stdout
    second = run(tmp_path, "a hen")
    assert second.returncode == 0, second.stderr
    runs = sorted((tmp_path / "outputs").iterdir())
    assert len(runs) == 2  # each run's images in a directory of its own
    assert [len(list(directory.iterdir())) for directory in runs] == [2, 1]
    for directory in runs:
        assert f"Saved outputs/{directory.name}/output_0.webp" in first.stdout + second.stdout


def test_bad_arguments_say_one_line_and_exit_non_zero(tmp_path: Path) -> None:
    for args, message in [
        (["-i", "number_of_images=two", "p"], "error: number_of_images takes a whole number"),
        (["-i", "input_images=@missing.png", "p"], "error: input_images: there is no file"),
        (["--request", "missing.json"], "error: --request: there is no file missing.json"),
        ([], "error: give a prompt"),
    ]:
        result = run(tmp_path, *args)
        assert result.returncode == 2
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert not (tmp_path / "outputs").exists()


def test_a_failure_is_said_once(tmp_path: Path) -> None:
    result = run(tmp_path, "-i", "prompt=")
    assert result.returncode == 1
    assert result.stderr.count("Prediction failed") == 1
    assert result.stderr.strip().endswith("The prompt is empty. Describe the image you want.")
    assert "Traceback" not in result.stderr + result.stdout


def test_a_setting_that_cannot_work_is_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "p", OPENAI_TIMEOUT="nan")
    assert result.returncode == 1
    assert result.stderr == (
        "The prediction server did not start: OPENAI_TIMEOUT must be a number of seconds "
        "above 0, such as 300, not 'nan'.\n"
    )


def test_every_build_runs(tmp_path: Path) -> None:
    result = run(tmp_path, "-f", "cog.gpt-image-2.yaml", "-i", "aspect_ratio=9:16", "a fox")
    assert result.returncode == 0, result.stderr
    assert "Model: gpt-image-2 (set by OPENAI_IMAGE_MODEL)." in result.stdout
    assert "POST /v1/images/generations model=gpt-image-2 n=1 size=864x1536" in result.stdout
    flare = run(tmp_path, "-f", "cog.gpt-image-2.5-flare.yaml", "-i", "quality=max", "a fox")
    assert flare.returncode == 0, flare.stderr
    assert "Model: gpt-image-2.5-flare (set by OPENAI_IMAGE_MODEL)." in flare.stdout
    assert "model=gpt-image-2.5-flare n=1 size=1024x1024 quality=max" in flare.stdout
    missing = run(tmp_path, "-f", "cog.gpt-image-3.yaml", "a fox")
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: -f: there is no config cog.gpt-image-3.yaml")
