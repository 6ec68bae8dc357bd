import re
import subprocess
import sys

import pytest

from skcmkd.__main__ import main
from skcmkd.baselines import METHODS

QUICK = ["--max-epochs", "2", "--seeds", "2", "--n-jobs", "1", "--unseen-classes", "0"]


def test_demo_prints_one_line_per_split_and_the_comparison(capsys):
    assert main(["demo", *QUICK]) == 0
    out = capsys.readouterr().out
    shown = [method for method in METHODS.values() if method.demo]
    for method in shown:  # the registry's demo methods, by its names
        assert f"\n{method.name}  " in out
    assert "skcmkd, defaults minus skcmkd, teacher of labelled noise:" in out
    assert sum(line.startswith("split ") for line in out.splitlines()) == 2 and "[2/2" in out
    assert "train_loss" not in out and "\x1b[" not in out  # no epoch tables, no colours


def test_demo_shows_the_unseen_class_setting_after_the_usual_one(capsys):
    quick = [arg for arg in QUICK if arg not in ("--unseen-classes", "0")]
    assert main(["demo", *quick, "--unseen-classes", "4", "--methods", "logreg,skcmkd"]) == 0
    out = capsys.readouterr().out
    usual, unseen = out.split("Classes the student has no labels for")
    assert "4 of the classes without a single labelled row" in unseen
    assert sum(line.startswith("split ") for line in unseen.splitlines()) == 2
    for method in ("skcmkd", "noise", "alone", "logreg"):  # the same methods every time
        assert f"{METHODS[method].name}  " in unseen
    assert "unseen classes" in unseen and "all classes" in unseen


def test_demo_verbose_shows_the_epoch_tables_of_the_chosen_methods(capsys):
    args = ["--teacher", "digits", "--student", "speech", "--verbose", "1"]
    main(["demo", *QUICK, *args, "--methods", "logreg,skcmkd"])
    out = capsys.readouterr().out
    assert "train_loss" in out
    assert "'digits'" in out and "'speech'" in out
    assert "\nLogisticRegression, labelled rows  " in out and "\nskcmkd, defaults  " in out
    assert "student alone" not in out


@pytest.mark.parametrize(
    "methods, message",
    [
        ("logreg,nope,skcmkd", r"Unknown method\(s\) \['nope'\]"),
        ("logreg", "must include 'skcmkd'"),
    ],
)
def test_demo_refuses_methods_the_registry_does_not_have(capsys, methods, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--methods", methods])
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "skcmkd", "demo", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--teacher" in result.stdout
