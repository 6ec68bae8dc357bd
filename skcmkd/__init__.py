"""skcmkd: cross-modal knowledge distillation without paired data, for scikit-learn."""

from ._distiller import CrossModalDistiller
from ._teacher import Teacher

__version__ = "0.1.0"

__all__ = ["CrossModalDistiller", "Teacher", "__version__"]
