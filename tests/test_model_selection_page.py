"""benchmarks/model_selection.py --quick runs end to end and re-renders from its JSON."""

from .benchmark_scripts import load_benchmark


def test_quick_page_and_re_render(tmp_path):
    module = load_benchmark("model_selection")
    out = tmp_path / "model_selection.md"
    summary = module.main(["--quick", "--out", str(out), "--n-jobs", "1"])
    page = out.read_text()
    for criterion in module.CRITERIA:
        assert criterion in page
    assert summary["regret"]["oracle"] == 0.0
    assert all(regret >= 0 for regret in summary["regret"].values())  # nothing beats the oracle
    again = module.main(["--from-json", str(out.with_suffix(".json")), "--out", str(out)])
    assert again == summary and out.read_text() == page
