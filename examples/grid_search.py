"""
Choosing the alignment weights: a Pipeline in a grid search
===========================================================

``feature_weight`` and ``label_weight`` are ordinary hyper-parameters. Put the
distiller at the end of a Pipeline and search them with ``GridSearchCV``,
straight on the partly labelled student data, with
:class:`~skcmkd.model_selection.LabelledStratifiedKFold` as ``cv``:

- its validation folds hold labelled rows only, so any ``scoring=`` is right
  (scikit-learn's default folds put ``-1`` rows in validation, where a scoring
  string counts them as errors: skcmkd refuses that with an error);
- every training fold keeps every unlabelled row for the alignment;
- every candidate is a clone that shares the one fitted teacher (it is
  trained once, by ``set_teacher``, not once per candidate and fold).

With 5 labels per class, each of 3 folds is scored on about 17 labelled
rows: a noisy criterion, which is the honest situation with few labels.
"""

# %%
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer

from skcmkd import CrossModalDistiller
from skcmkd.datasets import load_mfeat_unpaired
from skcmkd.model_selection import LabelledStratifiedKFold

data = load_mfeat_unpaired("kar", "mor", labels_per_class=5, random_state=0)
distiller = CrossModalDistiller(max_epochs=40, random_state=0)
distiller.set_teacher(data.X_teacher, data.y_teacher)

pipeline = make_pipeline(QuantileTransformer(n_quantiles=100), distiller)
grid = {
    "crossmodaldistiller__feature_weight": [0.0, 1.0, 5.0],
    "crossmodaldistiller__label_weight": [0.0, 0.1],
}
cv = LabelledStratifiedKFold(3, random_state=0)
search = GridSearchCV(pipeline, grid, cv=cv, scoring="balanced_accuracy")
search.fit(data.X_student, data.y_student)

# %%
results = zip(search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True)
for params, score in results:
    weights = {k.split("__")[1]: v for k, v in params.items()}
    print(f"{weights}: balanced accuracy {score:.3f} on the held-out labelled rows")
print("best:", search.best_params_)
print(f"held-out test accuracy of the refit best: {search.score(data.X_test, data.y_test):.3f}")
print("teacher fitted once:", search.best_estimator_[-1].teacher is distiller.teacher)
