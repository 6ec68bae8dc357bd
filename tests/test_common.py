"""scikit-learn's estimator checks on the default estimator (no teacher)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skcmkd import CrossModalDistiller

EXPECTED_FAILED_CHECKS = {
    # The check fits labels {-1, 1}, but -1 marks an unlabelled row in
    # scikit-learn's semi-supervised convention, which we follow. scikit-learn
    # exempts its own semi-supervised estimators from this part of the check
    # by name (LabelPropagation, LabelSpreading, SelfTrainingClassifier).
    "check_classifiers_classes": "-1 is the unlabelled marker, not a class",
}


@parametrize_with_checks(
    [CrossModalDistiller(random_state=0)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
