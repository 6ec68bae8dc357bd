"""A grid search on a Dask cluster with worker processes: the teacher is fitted once, shipped."""

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from skcmkd import CrossModalDistiller

from .conftest import FAST

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def _count_calls():
    """Run in each worker: count calls of set_teacher's fitting and of fit."""
    import skcmkd._distiller as module

    counts = {"fit_teacher": 0, "fit": 0}
    fit_teacher, fit = module.fit_teacher, module.CrossModalDistiller._fit

    def counting_fit_teacher(*args, **kwargs):
        counts["fit_teacher"] += 1
        return fit_teacher(*args, **kwargs)

    def counting_fit(self, *args, **kwargs):
        counts["fit"] += 1
        return fit(self, *args, **kwargs)

    module.fit_teacher = counting_fit_teacher
    module.CrossModalDistiller._fit = counting_fit
    module._worker_counts = counts


def _read_counts():
    import skcmkd._distiller as module

    return dict(module._worker_counts)


def test_grid_search_on_a_local_dask_cluster(client, unpaired):
    distiller = CrossModalDistiller(**{**FAST, "max_epochs": 2})
    distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], max_epochs=5)
    client.run(_count_calls)
    search = GridSearchCV(distiller, {"feature_weight": [0.0, 1.0, 5.0]}, cv=2, n_jobs=-1)
    with parallel_config(backend="dask"):
        search.fit(unpaired["X_student"], unpaired["y_student"])
    counts = client.run(_read_counts)
    assert len(counts) == 2  # two worker processes
    assert sum(c["fit"] for c in counts.values()) == 6  # 3 candidates x 2 folds ran there
    assert all(c["fit_teacher"] == 0 for c in counts.values())  # the teacher was shipped
    assert search.best_estimator_.teacher is distiller.teacher
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_labelled_folds_and_prefer_defaults_on_the_dask_backend(client, unpaired):
    from skcmkd.model_selection import LabeledStratifiedKFold, prefer_defaults

    distiller = CrossModalDistiller(**{**FAST, "max_epochs": 2})
    distiller.set_teacher(unpaired["X_teacher"], unpaired["y_teacher"], max_epochs=5)
    search = GridSearchCV(
        distiller,
        {"feature_weight": [0.0, 5.0]},
        cv=LabeledStratifiedKFold(2, shuffle=True, random_state=0),
        scoring="accuracy",
        refit=prefer_defaults({"feature_weight": 5.0}),
        n_jobs=-1,
    )
    with parallel_config(backend="dask"):
        search.fit(unpaired["X_student"], unpaired["y_student"])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_["feature_weight"] in (0.0, 5.0)
