import numpy as np
import pytest

from skcmkd.baselines import (
    METHODS,
    TEACHER_ROLES,
    Method,
    Split,
    fit_teachers,
    get_methods,
    on_labelled_rows,
    teacher_data,
)
from skcmkd.controls import noise_teacher_data

from .benchmark_scripts import load_benchmark


def test_every_method_has_a_key_a_name_and_a_known_teacher():
    names = [method.name for method in METHODS.values()]
    assert len(set(names)) == len(names)
    for key, method in METHODS.items():
        assert key == method.key and method.key and method.name
        assert method.teacher in (None, *TEACHER_ROLES) and callable(method.fit)
        assert method.teacher_free == (method.teacher is None)


def test_an_unknown_method_is_an_error():
    with pytest.raises(ValueError, match=r"Unknown method\(s\) \['nope'\].*How to add a baseline"):
        get_methods(["logreg", "nope"])
    assert get_methods() == list(METHODS.values())
    assert [m.key for m in get_methods(["skcmkd", "logreg"])] == ["skcmkd", "logreg"]


def test_a_second_entry_with_the_same_key_is_refused():
    from skcmkd.baselines import _registry

    logreg = METHODS["logreg"]
    with pytest.raises(ValueError, match="share the key 'logreg'"):
        _registry(logreg, logreg)
    with pytest.raises(ValueError, match="teacher 'paired'"):
        _registry(Method("x", "x", logreg.fit, teacher="paired"))


def test_the_benchmark_and_the_demo_read_the_registry():
    accuracy = load_benchmark("accuracy")
    assert [m.key for m in accuracy.METHODS] == list(METHODS)
    assert accuracy.METHOD_NAMES == {key: m.name for key, m in METHODS.items()}
    assert accuracy.TEACHER_FREE == [key for key, m in METHODS.items() if m.teacher is None]
    from skcmkd.__main__ import SUBJECT

    assert METHODS[SUBJECT].demo and METHODS[SUBJECT].teacher == "real"


def test_a_new_baseline_is_one_entry(unpaired):
    from sklearn.neighbors import KNeighborsClassifier

    knn = Method(
        "knn", "5 nearest neighbours, labelled rows", on_labelled_rows(KNeighborsClassifier())
    )
    model = knn.run(Split(unpaired["X_student"], unpaired["y_student"]))
    assert knn.teacher_free and model.score(unpaired["X_test"], unpaired["y_test"]) > 0.1


def test_control_teachers_follow_the_protocol():
    y = np.repeat([0, 1, 2], 5)
    X = np.arange(30.0).reshape(15, 2)
    data = teacher_data(X, y, random_state=3)
    np.testing.assert_array_equal(data["noise"][0], noise_teacher_data(y, random_state=1003))
    assert data["real"][0] is X and np.all(data["permuted"][1] != y)
    with pytest.raises(ValueError, match="Unknown teacher kind"):
        fit_teachers(["paired"], X, y, random_state=0)
