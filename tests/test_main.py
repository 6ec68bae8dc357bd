import subprocess
import sys

from skcmkd.__main__ import main


def test_demo_prints_the_comparison_table(capsys):
    assert main(["demo", "--max-epochs", "2", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "No digit is on both sides" in out
    for row in ("LogisticRegression, labelled rows", "student alone", "distilled student"):
        assert row in out
    assert "Distillation gain over the student alone" in out


def test_demo_shows_per_epoch_progress(capsys):
    main(["demo", "--max-epochs", "2", "--teacher-view", "kar", "--student-view", "mor"])
    out = capsys.readouterr().out
    assert "train_loss" in out and "fa" in out


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "skcmkd", "demo", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--teacher-view" in result.stdout
