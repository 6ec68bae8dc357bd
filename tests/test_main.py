import subprocess
import sys

from skcmkd.__main__ import main

QUICK = ["--max-epochs", "2", "--seeds", "2", "--n-jobs", "1"]


def test_demo_prints_one_line_per_split_and_the_comparison(capsys):
    assert main(["demo", *QUICK]) == 0
    out = capsys.readouterr().out
    for row in ("LogisticRegression, labelled rows", "student alone", "teacher of labelled noise"):
        assert row in out
    assert "Real teacher over a teacher of labelled noise" in out
    assert sum(line.startswith("split ") for line in out.splitlines()) == 2 and "[2/2" in out
    assert "train_loss" not in out and "\x1b[" not in out  # no epoch tables, no colours


def test_demo_verbose_shows_the_epoch_tables(capsys):
    main(["demo", *QUICK, "--teacher", "digits", "--student", "speech", "--verbose", "1"])
    out = capsys.readouterr().out
    assert "train_loss" in out
    assert "'digits'" in out and "'speech'" in out


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "skcmkd", "demo", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--teacher" in result.stdout
