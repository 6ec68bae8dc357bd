"""make_safe_distiller: the recommended default in one expression."""

from ._distiller import CrossModalDistiller
from ._safe_alignment import SafeAlignment
from ._unseen_class_namer import UnseenClassNamer

__all__ = ["make_safe_distiller"]


def make_safe_distiller(*, memory=None, **distiller_params):
    """The recommended default: a distiller that checks its alignment and names unseen classes.

    ``SafeAlignment(UnseenClassNamer(CrossModalDistiller(**distiller_params)))``,
    as :func:`~sklearn.pipeline.make_pipeline` builds a pipeline. The
    distiller trains the student; the namer names the teacher's classes that
    have no labelled row (a second training where there are such classes);
    the outer check keeps the alignment only where the labelled rows confirm
    it, and otherwise predicts with the student trained alone combined with
    a logistic regression. Every decision is a parameter of one of the three
    and is reported in ``decision_``.

    Parameters
    ----------
    memory : None, str or joblib.Memory, default=None
        Given to both meta-estimators: where the checks' results are kept, so
        that a later fit on the same rows and settings trains fewer nets.
    **distiller_params
        Parameters of :class:`~skcmkd.CrossModalDistiller` (``random_state``,
        ``max_epochs``, ``feature_weight``...). In ``get_params`` and grid
        searches they are ``estimator__estimator__<name>``.

    Returns
    -------
    model : SafeAlignment

    Examples
    --------
    >>> from skcmkd import make_safe_distiller
    >>> model = make_safe_distiller(random_state=0, feature_weight=5.0)
    >>> model.get_params()["estimator__estimator__feature_weight"]
    5.0
    """
    distiller = CrossModalDistiller(**distiller_params)
    return SafeAlignment(UnseenClassNamer(distiller, memory=memory), memory=memory)
