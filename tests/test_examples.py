"""Every example script runs from start to end."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


def test_there_are_the_examples_the_docs_list():
    names = {path.stem for path in EXAMPLES}
    listed = {"quickstart", "precomputed_teacher", "precomputed_embeddings", "grid_search"}
    assert listed | {"diagnostics"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # figures land here, not in the checkout
    monkeypatch.setenv("SKCMKD_FIGURES", str(tmp_path))
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out
    if path.stem == "diagnostics":
        assert (tmp_path / "diagnostics_embeddings.png").stat().st_size > 10_000
