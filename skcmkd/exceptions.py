"""The errors and warnings skcmkd raises, importable for ``except`` and filters."""

__all__ = ["NonFiniteLossError", "InconsistentVersionWarning", "UnseenClassesWarning"]


class NonFiniteLossError(FloatingPointError):
    """A loss term, or a weight of the student, became NaN or infinite in training.

    The message names the term and the likely fix; the estimator is left as
    it was before the failed :meth:`~skcmkd.CrossModalDistiller.fit`.
    """


class InconsistentVersionWarning(UserWarning):
    """A model saved by one skcmkd version is loaded by another.

    Loading may work, but nothing checks that the saved state means the same
    to this version: refit, or load with the version that saved the model.
    """


class UnseenClassesWarning(UserWarning):
    """Some of the teacher's classes have no labelled student row and are left unnamed.

    :class:`~skcmkd.UnseenClassNamer` names such classes from the teacher's
    class relations only where the labelled classes show that those relations
    hold in the student's modality; elsewhere a naming would be about chance,
    and the model is fitted on the labels as given. Its ``decision_`` gives
    the evidence.
    """
