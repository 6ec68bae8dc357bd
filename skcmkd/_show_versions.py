"""``skcmkd.show_versions()``: what to paste into a bug report."""

import importlib.metadata
import platform
import sys

__all__ = ["show_versions"]

_PACKAGES = (
    "skcmkd",
    "numpy",
    "scipy",
    "scikit-learn",
    "torch",
    "skorch",
    "POT",
    "joblib",
    "safetensors",
    "matplotlib",
    "pandas",
)


def _versions():
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _system():
    import torch

    cuda = torch.version.cuda if torch.cuda.is_available() else None
    return {
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "machine": platform.platform(),
        "torch threads": torch.get_num_threads(),
        "cuda": cuda or "not available",
    }


def show_versions():
    """Print the system and the versions of skcmkd and what it depends on.

    Examples
    --------
    >>> import skcmkd
    >>> skcmkd.show_versions()  # doctest: +ELLIPSIS
    <BLANKLINE>
    System:
    ...
    Python dependencies:
    ...
    """
    print("\nSystem:")
    for key, value in _system().items():
        print(f"{key:>14}: {value}")
    print("\nPython dependencies:")
    for key, value in _versions().items():
        print(f"{key:>14}: {value}")
