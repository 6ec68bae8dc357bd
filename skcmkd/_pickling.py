"""Pickles that remember the skcmkd version that wrote them; a refusal for skops."""

import copyreg
import warnings

from .exceptions import InconsistentVersionWarning

__all__ = ["VersionedPickle", "version"]


def version():
    """This skcmkd's version."""
    from . import __version__

    return __version__


class VersionedPickle:
    """Mixin: a pickle records the skcmkd version; loading it with another one warns.

    ``pickle``, ``copy`` and ``joblib`` reduce an object through
    ``__reduce_ex__``, which gives the usual state. skops calls
    ``__reduce__``, and would write a model whose torch tensors it cannot
    rebuild (it fails while loading, if not before): ``__reduce__`` refuses
    and names what to use instead.
    """

    def __reduce_ex__(self, protocol):
        # what object.__reduce_ex__ gives a plain object, without its __reduce__ detour
        return copyreg.__newobj__, (type(self),), self.__getstate__()

    def __reduce__(self):
        raise TypeError(
            f"A {type(self).__name__} holds torch weights, which skops (and other tools "
            "that rebuild objects from __reduce__) cannot rebuild. To share a model safely, "
            "use skcmkd.save_model(model, directory) and skcmkd.load_model(directory): JSON, "
            "NumPy arrays and safetensors, no code run when loaded. For files you trust, "
            "joblib.dump and pickle work too."
        )

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never the live __dict__
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
