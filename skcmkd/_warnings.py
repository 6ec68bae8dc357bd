"""Warnings that point at the user's code, however deep inside skcmkd they are raised."""

import os
import sys
import warnings

import sklearn

__all__ = ["warn_user"]

#: Frames in these folders are skcmkd's own, or scikit-learn's around a fit
#: (``_fit_context``, a meta-estimator calling ours): a warning skips them.
_INTERNAL = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep,
)


def warn_user(message, category):
    """``warnings.warn`` attributed to the first caller outside skcmkd and scikit-learn.

    A warning of a fit is about the user's call of ``fit``; raised from a
    meta-estimator's inner fit (``make_safe_distiller``, a grid search) it
    still names the user's line. Python 3.12's ``skip_file_prefixes`` does
    this; on earlier versions the stack level is counted the same way.
    """
    if sys.version_info >= (3, 12):
        warnings.warn(message, category, skip_file_prefixes=_INTERNAL)
        return
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_INTERNAL):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level + 1)
