"""The documentation site builds with warnings as errors (Sphinx, numpydoc, MyST, gallery)."""

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    for page in ("index", "user_guide", "api", "theory", "benchmarks", "performance"):
        assert (tmp_path / f"{page}.html").exists()
    api = (tmp_path / "generated" / "skcmkd.CrossModalDistiller.html").read_text()
    assert "feature_weight" in api and "set_teacher" in api


def _readme():
    return (DOCS.parent / "README.md").read_text()


def test_the_readmes_first_screen_has_the_example_and_the_command():
    lines = _readme().splitlines()
    first_python = lines.index("```python")
    assert first_python < 40
    assert any("python -m skcmkd demo" in line for line in lines[:first_python])
    block = lines[first_python + 1 : lines.index("```", first_python + 1)]
    assert len(block) <= 15


def test_the_readmes_first_python_block_runs_as_written(capsys):
    text = _readme()
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(block, "README.md", "exec"), {})
    assert "held-out check" in capsys.readouterr().out
