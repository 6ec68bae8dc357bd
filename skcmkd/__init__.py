"""skcmkd: cross-modal knowledge distillation without paired data, for scikit-learn."""

from ._distiller import CrossModalDistiller
from ._safe_alignment import AlignmentDecision, SafeAlignment
from ._safe_distiller import make_safe_distiller
from ._show_versions import show_versions
from ._teacher import Teacher
from ._unseen_class_namer import UnseenClassNamer
from .persistence import load_model, save_model

__version__ = "0.5.0"

__all__ = [
    "AlignmentDecision",
    "CrossModalDistiller",
    "SafeAlignment",
    "Teacher",
    "UnseenClassNamer",
    "load_model",
    "make_safe_distiller",
    "save_model",
    "show_versions",
    "__version__",
]
