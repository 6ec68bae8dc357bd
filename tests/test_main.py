import subprocess
import sys

from skcmkd.__main__ import main

QUICK = ["--max-epochs", "2", "--seeds", "2"]


def test_demo_prints_the_comparison_table(capsys):
    assert main(["demo", *QUICK, "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    rows = (
        "LogisticRegression, labelled rows",
        "student alone",
        "teacher off",
        "distilled student",
    )
    for row in rows:
        assert row in out
    assert "Distillation gain over the student alone" in out
    assert "Distillation gain over the teacher off" in out
    assert "2 unpaired splits" in out


def test_demo_shows_progress(capsys):
    main(["demo", *QUICK, "--teacher-view", "kar", "--student-view", "mor"])
    out = capsys.readouterr().out
    assert "No digit is on both sides" in out
    assert "train_loss" in out and "fa" in out  # skorch's per-epoch table
    assert "[2/2 splits" in out and "s left]" in out


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "skcmkd", "demo", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--teacher-view" in result.stdout
