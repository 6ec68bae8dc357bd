"""
Choosing the alignment weights: a Pipeline in a grid search
===========================================================

``feature_weight`` and ``label_weight`` are ordinary hyper-parameters. Put the
distiller at the end of a Pipeline and search them with ``GridSearchCV``,
straight on the partly labelled student data:

- every candidate is a clone that shares the one fitted teacher (it is
  trained once, by ``set_teacher``, not once per candidate and fold);
- the training folds keep their unlabelled rows (``-1``) for the alignment;
- ``score`` skips rows labelled ``-1``, so each test fold is scored on its
  labelled rows.

With 5 labels per class, each of 3 folds is scored on about 17 labelled
rows: a noisy criterion, which is the honest situation with few labels.
"""

# %%
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer

from skcmkd import CrossModalDistiller
from skcmkd.datasets import load_mfeat_unpaired

data = load_mfeat_unpaired("kar", "mor", labels_per_class=5, random_state=0)
distiller = CrossModalDistiller(max_epochs=40, random_state=0)
distiller.set_teacher(data.X_teacher, data.y_teacher)

pipeline = make_pipeline(QuantileTransformer(n_quantiles=100), distiller)
grid = {
    "crossmodaldistiller__feature_weight": [0.0, 1.0, 5.0],
    "crossmodaldistiller__label_weight": [0.0, 0.1],
}
search = GridSearchCV(pipeline, grid, cv=3, n_jobs=1).fit(data.X_student, data.y_student)

# %%
results = zip(search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True)
for params, score in results:
    weights = {k.split("__")[1]: v for k, v in params.items()}
    print(f"{weights}: {score:.3f} on the labelled rows of the held-out folds")
print("best:", search.best_params_)
print(f"held-out test accuracy of the refit best: {search.score(data.X_test, data.y_test):.3f}")
print("teacher fitted once:", search.best_estimator_[-1].teacher is distiller.teacher)
