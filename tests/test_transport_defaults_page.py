"""docs/transport_defaults.md is what its script renders from the committed rows."""

from pathlib import Path

from .benchmark_scripts import load_benchmark

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_committed_page_is_rendered_from_the_committed_rows(tmp_path):
    script = load_benchmark("transport_defaults")
    out = tmp_path / "page.md"
    script.main(["--render", "--out", str(out)])
    page = out.read_text()
    assert page == (DOCS / "transport_defaults.md").read_text()
    assert "Derived, not run" not in page  # the shipped rows were measured
    _, seconds = script.safety.load_rows(script.SHIPPED_CSV, script.FIELDS)
    assert f"({seconds / 60:.0f} min on 2 cores" in page  # the shipped run's own time
