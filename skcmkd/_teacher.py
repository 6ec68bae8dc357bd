"""The fitted teacher: an encoder into the latent space, a head, a bank."""

import contextlib
import hashlib
from dataclasses import dataclass

import joblib
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array
from skorch import NeuralNetClassifier
from torch import nn

from ._inputs import check_features, input_scaler, naming_input
from .alignment import class_means
from .modules import MLPEncoder
from .unseen_rows import whitener

__all__ = ["Teacher", "TeacherTarget", "fit_teacher"]


class TeacherEncoding:
    """How one kind of teacher embeds its inputs; one subclass per kind.

    Parameters
    ----------
    encoder : torch.nn.Module, fitted transformer or None
    scaler : fitted transformer or None
        Applied to the inputs before ``encoder``.
    """

    kind = None
    #: What the teacher's ``transform`` takes, for error messages.
    inputs = "teacher-modality rows"

    def __init__(self, encoder=None, scaler=None):
        self.encoder = encoder
        self.scaler = scaler

    def embed(self, X):
        """Embeddings of validated inputs ``X`` (may be float32 or a tensor)."""
        raise NotImplementedError

    def _through_module(self, X):
        """``X`` through the torch encoder, in eval mode, without a graph."""
        self.encoder.eval()
        with torch.no_grad():
            return self.encoder(torch.as_tensor(np.asarray(X), dtype=torch.float32))


class MLPEncoding(TeacherEncoding):
    """The ``"mlp"`` teacher: standardised inputs through a trained MLP."""

    kind = "mlp"

    def embed(self, X):
        return self._through_module(self.scaler.transform(X))


class PrecomputedEncoding(TeacherEncoding):
    """The ``"precomputed"`` teacher: the inputs are the embeddings."""

    kind = "precomputed"
    inputs = "embeddings"

    def embed(self, X):
        return X


class UserEncoding(TeacherEncoding):
    """A user's fitted encoder: a torch module or a transformer, used as it is."""

    kind = "encoder"

    def embed(self, X):
        if self.encoder is None:
            raise ValueError(
                "This teacher was loaded without its encoder (save_model keeps user encoders "
                "out of the files); call set_teacher again to embed teacher data."
            )
        if not isinstance(self.encoder, nn.Module):
            return self.encoder.transform(X)
        return self._through_module(X)


#: Every kind of teacher, by its ``kind``.
TEACHER_KINDS = {cls.kind: cls for cls in (MLPEncoding, PrecomputedEncoding, UserEncoding)}
#: The kinds a user names by a string in ``set_teacher(encoder=...)``; any
#: fitted transformer or torch module is a teacher of kind ``"encoder"``.
NAMED_KINDS = ("mlp", "precomputed")


def check_teacher_encoder(encoder):
    """Refuse, naming the choices, an ``encoder`` that :func:`fit_teacher` cannot use."""
    if not (
        (isinstance(encoder, str) and encoder in NAMED_KINDS)
        or isinstance(encoder, nn.Module)
        or hasattr(encoder, "transform")
    ):
        raise ValueError(
            f"encoder must be one of {list(NAMED_KINDS)}, a fitted transformer or a torch "
            f"module; got {encoder!r}."
        )


def draw_seed(random_state):
    """The one int32 seed a fit draws from ``random_state`` (a ``RandomState`` advances)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def torch_seed(random_state):
    """Seed torch from ``random_state`` inside the block only.

    The user's global torch random state is saved and restored, so fitting a
    model never changes what their own code draws next. Yields the seed.
    """
    seed = draw_seed(random_state)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield seed


class Teacher:
    """A fitted teacher embedding, shared as-is by every clone of a distiller.

    Built by :meth:`CrossModalDistiller.set_teacher`; it never trains again.
    Cloning returns the object itself (``__sklearn_clone__``), so a grid
    search or a cross-validation fits the teacher once and every candidate
    distils from that same teacher.

    Attributes
    ----------
    kind : str
        ``"mlp"``, ``"precomputed"`` or ``"encoder"`` (a user-supplied fitted
        encoder).
    classes_ : ndarray of shape (n_classes,)
        The teacher's classes, sorted.
    bank_ : ndarray of shape (n_teacher, latent_dim), float32
        Embeddings of the teacher data: the sample of :math:`D_T(z)` that
        feature alignment draws teacher batches from.
    bank_labels_ : ndarray of shape (n_teacher,), int64
        Their class codes (indices into ``classes_``).
    prior_ : ndarray of shape (n_classes,)
        Class frequencies of the teacher data.
    cost_scale_ : float
        Mean squared distance between two bank embeddings; the feature
        alignment cost is divided by it so that ``feature_weight`` does not
        depend on the units of the latent space.
    class_means_ : ndarray of shape (n_classes, latent_dim)
        Mean bank embedding of each class: the teacher's arrangement of its
        classes.
    latent_dim_ : int
        Width of the latent space.
    relation_means_ : ndarray of shape (n_classes, n_components)
        Each class's mean of the data the teacher was fitted on (its inputs
        where they are a table, else its embeddings), standardised and
        whitened by the leading principal components
        (:func:`relation_means_of`): how the teacher's modality arranges its
        classes, before any training pulled them apart. Unseen classes are
        named from it (:mod:`skcmkd.unseen_rows`).
    settings : dict
        The arguments :func:`fit_teacher` was called with (``encoder``,
        ``latent_dim``, ``max_epochs``, ``lr``, ``batch_size``): what a
        control teacher needs to be fitted the same way.
    """

    def __init__(
        self,
        *,
        kind,
        encoder,
        scaler,
        head,
        classes,
        bank,
        bank_labels,
        n_features,
        settings=None,
        relation_means=None,
    ):
        self.kind = kind
        self.settings = dict(settings or {})
        self.encoder = encoder
        self.scaler = scaler
        self.head = head
        self.classes_ = classes
        self.bank_ = np.ascontiguousarray(bank, dtype=np.float32)
        self.bank_labels_ = np.asarray(bank_labels, dtype=np.int64)
        counts = np.bincount(self.bank_labels_, minlength=len(classes))
        self.prior_ = counts / counts.sum()
        self.cost_scale_ = _mean_squared_distance(self.bank_) or 1.0
        self.class_means_ = class_means(self.bank_, self.bank_labels_, len(classes))
        self.latent_dim_ = self.bank_.shape[1]
        self.n_features_in_ = n_features
        if relation_means is None:  # a teacher saved before 0.5 kept no inputs: its embeddings
            relation_means = relation_means_of(self.bank_, self.bank_labels_, len(classes))
        self.relation_means_ = np.asarray(relation_means, dtype=np.float64)

    def __sklearn_clone__(self):
        return self

    def fingerprint(self):
        """A digest of what the teacher is: equal for teachers with equal contents.

        Kind, classes, settings, bank, bank labels, head, and the encoder's
        weights (or its fitted state): what a result computed with this
        teacher depends on. The meta-estimators' ``memory=`` keys on it, so
        that a teacher fitted again on the same data with the same seed, or
        loaded from a save, finds what was kept for it. Computed once.

        Returns
        -------
        digest : str
        """
        if getattr(self, "_fingerprint", None) is None:
            digest = hashlib.blake2b(digest_size=20)
            plain = [
                self.kind,
                [str(c) for c in self.classes_],
                sorted(map(repr, self.settings.items())),
            ]
            digest.update(repr(plain).encode())
            # relation_means_ derive from the data the bank does: left out, so that a model
            # saved by 0.4 (which kept none) keeps its fingerprint when loaded
            arrays = [self.bank_, self.bank_labels_, *(t.numpy() for t in self.head_params())]
            if isinstance(self.encoder, nn.Module):
                arrays += [t.detach().cpu().numpy() for t in self.encoder.state_dict().values()]
            elif self.encoder is not None:
                digest.update(joblib.hash(self.encoder).encode())
            if self.scaler is not None:  # the "mlp" teacher's input scaler: its statistics
                divider, standard = self.scaler[0], self.scaler[1]
                arrays += [divider.scale_, standard.mean_, standard.var_, standard.scale_]
            for array in arrays:
                array = np.ascontiguousarray(array)
                digest.update(f"{array.dtype.str}{array.shape}".encode())
                digest.update(memoryview(array).cast("B"))
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    @property
    def encoding(self):
        """How this kind of teacher embeds its inputs (:class:`TeacherEncoding`)."""
        return TEACHER_KINDS[self.kind](self.encoder, self.scaler)

    def __repr__(self):
        return (
            f"Teacher(kind={self.kind!r}, n_classes={len(self.classes_)}, "
            f"bank={self.bank_.shape[0]}x{self.latent_dim_})"
        )

    def head_params(self):
        """Weight ``(n_classes, latent_dim)`` and bias of the head, as tensors."""
        return self.head.weight.detach().clone(), self.head.bias.detach().clone()

    def alignment_target(self, relations=1.0, random_state=None):
        """What the student aligns to: the bank, with its class arrangement kept or evened out.

        Parameters
        ----------
        relations : float in [0, 1], default=1.0
            Share of the teacher's arrangement of its class means to keep;
            the rest moves them towards equidistant positions
            (:func:`skcmkd.assumptions.equidistant_shift`), each class keeping
            its shape. Below 1 the head is refitted on the moved bank.
        random_state : int, RandomState instance or None, default=None
            Seeds the subset of rows the refitted head sees on huge banks.

        Returns
        -------
        target : TeacherTarget
        """
        from .assumptions import equidistant_shift

        shift = equidistant_shift(self.class_means_, relations).astype(np.float32)
        if not shift.any():
            weight, bias = self.head_params()
            return TeacherTarget(
                self.bank_, self.bank_labels_, None, weight, bias, self.cost_scale_
            )
        rows = _head_rows(
            len(self.bank_), self.settings.get("max_head_rows", 100_000), random_state
        )
        moved = self.bank_[rows] + shift[self.bank_labels_[rows]]
        head = _linear_head_from_logistic(
            moved, self.bank_labels_[rows], len(self.classes_), len(rows)
        )
        scale = _mean_squared_distance(self.bank_, shift=shift, labels=self.bank_labels_) or 1.0
        return TeacherTarget(
            self.bank_,
            self.bank_labels_,
            shift,
            head.weight.detach(),
            head.bias.detach(),
            scale,
        )

    def transform(self, X):
        """Embed teacher-modality data into the latent space (float32)."""
        z = self.encoding.embed(self._check_input(X))
        return np.asarray(z.numpy() if isinstance(z, torch.Tensor) else z, dtype=np.float32)

    def _check_input(self, X):
        check_features(X, "X_teacher")
        with naming_input("X_teacher"):
            X = check_array(X, dtype=[np.float64, np.float32], input_name="X_teacher")
        if self.n_features_in_ is not None and X.shape[1] != self.n_features_in_:
            what = self.encoding.inputs
            raise ValueError(
                f"X_teacher has {X.shape[1]} columns, but this {self.kind!r} teacher takes "
                f"{what} of {self.n_features_in_} columns, as in set_teacher. Pass data of "
                "the same kind (student data goes to the distiller)."
            )
        return X

    def predict_proba_latent(self, z, classes=None):
        """The head :math:`p_T(y \\mid z)` at embeddings ``z`` (numpy, float64).

        Columns follow ``classes_``, or ``classes`` when given (a superset of
        them, such as a student's ``classes_``): a class the teacher lacks
        gets probability 0.
        """
        with torch.no_grad():
            logits = self.head(torch.as_tensor(np.asarray(z), dtype=torch.float32))
        proba = torch.softmax(logits.double(), dim=1).numpy()
        if classes is None:
            return proba
        widened = np.zeros((len(proba), len(classes)))
        widened[:, self.positions_in(classes)] = proba
        return widened

    def positions_in(self, classes):
        """Where each of the teacher's classes sits in ``classes`` (a superset of them)."""
        return np.searchsorted(np.asarray(classes), self.classes_)

    def predict_proba(self, X):
        """Teacher probabilities for teacher-modality data."""
        return self.predict_proba_latent(self.transform(X))

    def predict(self, X):
        """Teacher class predictions for teacher-modality data."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@dataclass(frozen=True)
class TeacherTarget:
    """The teacher as the student's loss sees it (built by :meth:`Teacher.alignment_target`).

    Attributes
    ----------
    bank : ndarray of shape (n_teacher, latent_dim)
        The teacher's embeddings (shared with the teacher, never copied).
    labels : ndarray of shape (n_teacher,)
        Their class codes.
    shift : ndarray of shape (n_classes, latent_dim) or None
        Added to each drawn embedding by its class: the move towards
        equidistant class means; ``None`` keeps the teacher's arrangement.
    head_weight, head_bias : Tensor
        The head that labels student embeddings in this space.
    cost_scale : float
        Mean squared distance between two target embeddings; divides the
        transport cost and the neighbour term.
    """

    bank: np.ndarray
    labels: np.ndarray
    shift: np.ndarray | None
    head_weight: torch.Tensor
    head_bias: torch.Tensor
    cost_scale: float


#: Bias of a class the teacher lacks in the teacher's head, as the loss sees
#: it: its probability underflows to exactly 0 (finite, so no NaN follows).
_ABSENT_BIAS = -1e4


def widen_head(target, positions, n_classes, absent_bias):
    """The target's head with a row per student class: zero weights, ``absent_bias`` where absent."""
    weight = target.head_weight.new_zeros((n_classes, target.head_weight.shape[1]))
    weight[positions] = target.head_weight
    bias = target.head_bias.new_full((n_classes,), float(absent_bias))
    bias[positions] = target.head_bias
    return weight, bias


def widen_target(target, positions, n_classes):
    """The target in a student's class codes, where the student has classes the teacher lacks.

    Parameters
    ----------
    target : TeacherTarget
    positions : ndarray of int
        Where each teacher class sits among the student's classes.
    n_classes : int
        The student's number of classes.

    Returns
    -------
    target : TeacherTarget
        Bank labels recoded; the head and the shift given a row per student
        class, zero weights and a bias that gives the absent classes
        probability 0.
    """
    if n_classes == len(positions):
        return target
    weight, bias = widen_head(target, positions, n_classes, _ABSENT_BIAS)
    shift = None
    if target.shift is not None:
        shift = np.zeros((n_classes, target.shift.shape[1]), dtype=target.shift.dtype)
        shift[positions] = target.shift
    labels = positions[target.labels].astype(np.int64)
    return TeacherTarget(target.bank, labels, shift, weight, bias, target.cost_scale)


def _chunked(n, chunk=65536):
    return (slice(i, i + chunk) for i in range(0, n, chunk))


def _mean_squared_distance(bank, shift=None, labels=None, chunk=65536):
    """Mean squared distance between two independent rows: twice the total variance.

    Computed by chunks in float64, so a bank of 10^6 rows costs no float64
    copy of itself. ``shift[labels]`` is added to the rows first when given.
    """

    def rows(part):
        return bank[part] if shift is None else bank[part] + shift[labels[part]]

    n = len(bank)
    mean = sum(rows(part).sum(axis=0, dtype=np.float64) for part in _chunked(n, chunk)) / n
    total = 0.0
    for part in _chunked(n, chunk):
        centred = rows(part) - mean
        total += float(np.einsum("ij,ij->", centred, centred))
    return 2 * total / n


def _head_rows(n, max_rows, random_state=None):
    """All rows of a bank, or a sorted random subset of ``max_rows`` of them."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(check_random_state(random_state).choice(n, max_rows, replace=False))


def _linear_head_from_logistic(z, codes, n_classes, max_rows, random_state=None):
    """Fit the head on fixed embeddings with scikit-learn, as a torch layer.

    The regression runs on standardised embeddings (well conditioned at any
    magnitude); the standardisation is folded into the layer's weights, so the
    head takes the raw embeddings. Banks larger than ``max_rows`` fit it on a
    random subset of that many rows.
    """
    rows = _head_rows(len(z), max_rows, random_state)
    z, codes = z[rows], codes[rows]
    scaler = StandardScaler().fit(z)
    model = LogisticRegression(max_iter=2000).fit(scaler.transform(z), codes)
    weight = model.coef_ / scaler.scale_
    bias = model.intercept_ - weight @ scaler.mean_
    if n_classes == 2:  # one logit for class 1; class 0 gets a zero logit
        weight = np.vstack([np.zeros_like(weight), weight])
        bias = np.r_[0.0, bias]
    head = nn.Linear(z.shape[1], n_classes)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        head.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return head


def _fit_mlp_teacher(X, codes, n_classes, *, latent_dim, max_epochs, lr, batch_size, seed, verbose):
    scaler = input_scaler().fit(X)
    X_scaled = scaler.transform(X).astype(np.float32)
    encoder = MLPEncoder(
        n_features=X.shape[1], latent_dim=latent_dim, hidden_units=(256,), layer_norm=False
    )
    net = NeuralNetClassifier(
        nn.Sequential(encoder, nn.Linear(latent_dim, n_classes)),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        train_split=None,
        verbose=verbose,
        iterator_train__shuffle=True,
        iterator_train__generator=torch.Generator().manual_seed(seed),
    )
    net.fit(X_scaled, codes)
    sequential = net.module_.eval()
    return scaler, sequential[0], sequential[1]


def fit_teacher(
    X,
    y,
    *,
    encoder="mlp",
    latent_dim=32,
    max_epochs=100,
    lr=1e-3,
    batch_size=64,
    max_head_rows=100_000,
    random_state=None,
    verbose=0,
):
    """Fit a teacher embedding on teacher-modality data.

    Parameters
    ----------
    X : array-like of shape (n_teacher, n_features_teacher)
        Teacher-modality inputs, or their embeddings when
        ``encoder="precomputed"``.
    y : array-like of shape (n_teacher,)
        Their labels; every row must be labelled.
    encoder : {"mlp", "precomputed"}, fitted transformer or torch.nn.Module
        ``"mlp"`` trains an :class:`~skcmkd.modules.MLPEncoder` and a linear
        head by cross-entropy (inputs standardised). ``"precomputed"`` takes
        ``X`` as the embeddings and fits only the head. A fitted scikit-learn
        transformer (anything with ``transform``) or a torch module is used
        as the encoder as it is; only the head is fitted on its output.
        Heads on fixed embeddings are multinomial
        :class:`~sklearn.linear_model.LogisticRegression` fits.
    latent_dim : int, default=32
        Width of the latent space of the ``"mlp"`` teacher.
    max_epochs, lr, batch_size : int, float, int
        Training of the ``"mlp"`` teacher.
    max_head_rows : int, default=100_000
        A head on fixed embeddings is fitted on at most this many rows of
        the bank (a random subset beyond): a linear head on a few dozen
        dimensions needs no more, and a bank of 10^6 rows would cost a
        standardised float64 copy of itself.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        skorch's per-epoch log of the ``"mlp"`` teacher.

    Returns
    -------
    teacher : Teacher
    """
    labels = LabelEncoder().fit(y)
    codes = labels.transform(y).astype(np.int64)
    classes, n_classes = labels.classes_, len(labels.classes_)
    scaler = None
    if isinstance(encoder, str) and encoder == "mlp":
        with torch_seed(random_state) as seed:
            scaler, module, head = _fit_mlp_teacher(
                X,
                codes,
                n_classes,
                latent_dim=latent_dim,
                max_epochs=max_epochs,
                lr=lr,
                batch_size=batch_size,
                seed=seed,
                verbose=verbose,
            )
        kind = "mlp"
        bank = _check_bank(MLPEncoding(module, scaler).embed(X))
    else:
        kind = encoder if isinstance(encoder, str) else "encoder"
        module = None if kind == "precomputed" else encoder
        bank = _check_bank(TEACHER_KINDS[kind](module).embed(X))
        head = _linear_head_from_logistic(bank, codes, n_classes, max_head_rows, random_state)
    table = kind != "encoder" or (isinstance(X, np.ndarray) and X.ndim == 2)
    relations = relation_means_of(X if table else bank, codes, n_classes, random_state=random_state)
    settings = dict(
        encoder=encoder,
        latent_dim=latent_dim,
        max_epochs=max_epochs,
        lr=lr,
        batch_size=batch_size,
        max_head_rows=max_head_rows,
    )
    return Teacher(
        kind=kind,
        encoder=module,
        scaler=scaler,
        head=head,
        classes=classes,
        bank=bank,
        bank_labels=codes,
        n_features=None if kind == "encoder" else X.shape[1],
        settings=settings,
        relation_means=relations,
    )


def relation_means_of(X, codes, n_classes, *, n_components=64, max_rows=20_000, random_state=0):
    """Class means of ``X``, standardised and whitened by its leading principal components.

    :func:`skcmkd.unseen_rows.whitener`, fitted on the rows. The whitening is linear, so the means are those of the whitened rows;
    the scaler and the components are fitted on at most ``max_rows`` rows
    (a seeded draw beyond), so a teacher of 10^6 rows costs one pass.

    Returns
    -------
    means : ndarray of shape (n_classes, n_components)
    """
    X = np.asarray(X)
    means = class_means(X, codes, n_classes)
    sample = X[_head_rows(len(X), max_rows, random_state)]
    return whitener(sample, n_components=n_components)(means)


def _check_bank(bank):
    if isinstance(bank, torch.Tensor):
        bank = bank.numpy()
    with np.errstate(over="ignore"):  # an overflow to inf is reported just below
        bank = np.asarray(bank, dtype=np.float32)
    if bank.ndim != 2:
        raise ValueError(
            f"The teacher encoder returned an array of shape {bank.shape}; it must return "
            "embeddings of shape (n_samples, latent_dim)."
        )
    if not np.isfinite(bank).all():
        raise ValueError(
            "The teacher embeddings hold NaN or values beyond float32's range (about 3e38). "
            "Rescale X_teacher (divide by its largest absolute value), fix the encoder, or "
            "for the 'mlp' teacher lower `lr`."
        )
    return bank
