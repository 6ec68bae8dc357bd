"""skcmkd: cross-modal knowledge distillation without paired data, for scikit-learn."""

from ._distiller import CrossModalDistiller
from ._show_versions import show_versions
from ._teacher import Teacher
from .persistence import load_model, save_model

__version__ = "0.2.0"

__all__ = [
    "CrossModalDistiller",
    "Teacher",
    "load_model",
    "save_model",
    "show_versions",
    "__version__",
]
