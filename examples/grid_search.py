"""
Choosing the alignment weights: a Pipeline in a grid search
===========================================================

``feature_weight`` and ``neighbor_weight`` are ordinary hyper-parameters.
Put the distiller at the end of a Pipeline and search them with
``GridSearchCV``, straight on the partly labelled student data:

- with no ``scoring=``, each candidate is scored by the estimator's own
  ``score``, which skips the ``-1`` rows that scikit-learn's default folds put
  in validation;
- ``refit=prefer_defaults(...)`` keeps the defaults unless a candidate beats
  them by more than one standard error of the per-fold difference: with 5
  labels per class the best candidate is often best by chance, and this rule
  chose best of those measured in ``docs/model_selection.md`` (0.5 point
  below the best grid point, 0.2 above the defaults);
- for a ``scoring=`` string, pass ``cv=LabeledStratifiedKFold(...)``
  (validation folds of labelled rows only; on scikit-learn's default folds a
  scoring string counts every ``-1`` row as an error);
- every candidate is a clone that shares the one fitted teacher (it is
  trained once, by ``set_teacher``, not once per candidate and fold), and one
  net trained with its own weights: the search's folds compare the
  candidates, the student alone (both weights 0) among them, on held-out
  labels.
"""

# %%
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer

from skcmkd import CrossModalDistiller
from skcmkd.datasets import load_mfeat_unpaired
from skcmkd.model_selection import LabeledStratifiedKFold, prefer_defaults

data = load_mfeat_unpaired("kar", "mor", labels_per_class=5, random_state=0)
distiller = CrossModalDistiller(max_epochs=40, random_state=0)
distiller.set_teacher(data.X_teacher, data.y_teacher)

pipeline = make_pipeline(QuantileTransformer(n_quantiles=100), distiller)
grid = {
    "crossmodaldistiller__feature_weight": [0.0, 5.0],
    "crossmodaldistiller__neighbor_weight": [0.0, 200.0],
}
defaults = {
    "crossmodaldistiller__feature_weight": 5.0,
    "crossmodaldistiller__neighbor_weight": 200.0,
}
search = GridSearchCV(pipeline, grid, cv=3, refit=prefer_defaults(defaults))
search.fit(data.X_student, data.y_student)

# %%
results = zip(search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True)
for params, score in results:
    weights = {k.split("__")[1]: v for k, v in params.items()}
    print(f"{weights}: accuracy {score:.3f} on the labelled rows of the validation folds")
print("chosen (the defaults unless a candidate clearly wins):", search.best_params_)
print(f"held-out test accuracy of the refit choice: {search.score(data.X_test, data.y_test):.3f}")
print("teacher fitted once:", search.best_estimator_[-1].teacher is distiller.teacher)

# %%
# With a scoring string: folds of labelled rows only.
cv = LabeledStratifiedKFold(3, shuffle=True, random_state=0)
balanced = GridSearchCV(
    pipeline, grid, cv=cv, scoring="balanced_accuracy", refit=prefer_defaults(defaults)
)
balanced.fit(data.X_student, data.y_student)
print("chosen by balanced accuracy:", balanced.best_params_)
