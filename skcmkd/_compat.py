"""scikit-learn's private helpers, imported in one place.

``validate_data`` and ``_fit_context`` moved between scikit-learn releases;
they come through sklearn-compat, which tracks those moves (as
imbalanced-learn does). The parameter-constraint classes have no public home
and no sklearn-compat shim; they have kept their names and behaviour since
scikit-learn 1.2, as has ``_safe_indexing`` (exported by ``sklearn.utils``). CI runs the test suite on the lowest versions
``pyproject.toml`` allows (``constraints-lowest.txt``) and on the newest.
"""

from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn_compat.base import _fit_context
from sklearn_compat.utils.validation import validate_data

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "_fit_context",
    "_safe_indexing",
    "validate_data",
]
