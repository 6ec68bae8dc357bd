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
