"""Pickles that remember the skcmkd version that wrote them."""

import warnings

from .exceptions import InconsistentVersionWarning

__all__ = ["VersionedPickle", "version"]


def version():
    """This skcmkd's version."""
    from . import __version__

    return __version__


class VersionedPickle:
    """Mixin: a pickle records the skcmkd version; loading it with another one warns."""

    def __getstate__(self):
        state = super().__getstate__()
        state["_skcmkd_version"] = version()
        return state

    def __setstate__(self, state):
        saved = state.pop("_skcmkd_version", "unknown")
        if saved != version():
            warnings.warn(
                f"This {type(self).__name__} was saved with skcmkd {saved} and is loaded with "
                f"skcmkd {version()}. It may predict differently or break: refit it, or load "
                "it with the version that saved it.",
                InconsistentVersionWarning,
                stacklevel=2,
            )
        super().__setstate__(state)
