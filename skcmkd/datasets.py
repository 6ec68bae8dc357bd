"""Loaders for the real data bundled with skcmkd, and the unpaired splits of the benchmark.

Two families: UCI Multiple Features (six views of the same handwritten digits,
unpaired by giving each side different digits) and spoken digits (synthetic
speech, made by ``benchmarks/make_spoken_digits.py``), which pairs with digit
*images* from other data sets (scikit-learn's 8x8 digits, an mfeat view):
different modalities with nothing in common but the ten classes.
"""

from functools import cache
from importlib import resources

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ._activities import ACTIVITY_CLASSES, make_activities
from ._shapes import SHAPE_CLASSES, make_shapes

__all__ = [
    "ACTIVITY_CLASSES",
    "MFEAT_VIEWS",
    "HANGUL_VIEWS",
    "SHAPE_CLASSES",
    "SOURCES",
    "load_activities",
    "load_hangul",
    "load_mfeat",
    "load_mfeat_unpaired",
    "load_shapes",
    "load_spoken_digits",
    "load_unpaired",
    "hide_classes",
    "unpaired_split",
]

#: The six views of UCI Multiple Features, with their widths.
MFEAT_VIEWS = {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6}

_MFEAT_DESCR = """UCI Multiple Features (mfeat): six views of 2000 handwritten digits.

Views: fou (76 Fourier coefficients of the character shapes), fac (216 profile
correlations), kar (64 Karhunen-Loeve coefficients), pix (240 pixel averages in
2 x 3 windows), zer (47 Zernike moments), mor (6 morphological features).
Row i is the same digit in every view; 200 digits per class, in class order.

Source: UCI Machine Learning Repository, "Multiple Features" (Robert P.W. Duin),
licensed CC BY 4.0; cite M. van Breukelen, R.P.W. Duin, D.M.J. Tax,
J.E. den Hartog, "Handwritten digit recognition by combined classifiers",
Kybernetika 34(4):381-386, 1998.
"""


_SPOKEN_DESCR = """Spoken digits: 2000 synthetic utterances of the words "zero".."nine".

Made by benchmarks/make_spoken_digits.py with espeak-ng 1.51: random English
accent, voice variant, rate and pitch; a random room (half of them) and
microphone; white, pink, brown or babble noise at 0-20 dB SNR. Features: the
40-band log-mel spectrogram averaged over each third of the clip (120
columns). Voice, channel and noise dominate the feature space, so input-space
neighbours often share a voice or a noise rather than a digit.
"""


@cache
def _read_table(folder, name):
    path = resources.files("skcmkd") / "data" / folder / name
    with resources.as_file(path) as file:
        table = np.loadtxt(file, delimiter=",", skiprows=1)
    table.setflags(write=False)
    return table


def _read_view(view):
    return _read_table("mfeat", f"mfeat-{view}.csv.gz")


def load_spoken_digits(variant="mel"):
    """Load the bundled spoken-digits data set (synthetic speech features).

    Parameters
    ----------
    variant : {"mel", "mfcc"}, default="mel"
        ``"mel"``: the benchmark's set, 120 log-mel features. ``"mfcc"``: the
        same ten words made differently (other voices, no room, other noise
        levels, 65 cepstral features), as another team's speech data would be;
        ``skcmkd/data/spoken_digits/README.md`` gives both recipes.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data``: float64 array of shape ``(2000, 120)`` (``(2000, 65)`` for
        ``"mfcc"``); ``target``: the spoken digit ``0..9`` (int64, 200
        each); ``DESCR``: how the data were made.

    Examples
    --------
    >>> from skcmkd.datasets import load_spoken_digits
    >>> data = load_spoken_digits()
    >>> data.data.shape, data.target.shape
    ((2000, 120), (2000,))
    >>> load_spoken_digits("mfcc").data.shape
    (2000, 65)
    """
    files = {"mel": "spoken-digits.csv.gz", "mfcc": "spoken-digits-mfcc.csv.gz"}
    if variant not in files:
        raise ValueError(f"variant must be one of {sorted(files)}, got {variant!r}.")
    table = _read_table("spoken_digits", files[variant])
    return Bunch(
        data=table[:, :-1].copy(), target=table[:, -1].astype(np.int64), DESCR=_SPOKEN_DESCR
    )


#: The two views of the bundled Hangul family, with their widths.
HANGUL_VIEWS = {"pix": 256, "hog": 324}

_HANGUL_DESCR = """Hangul: 100 syllables rendered in 26 Korean fonts, 80 renderings each, seen twice.

Classes: the open syllables of ten initial consonants and ten vowels, class
10 * initial + vowel (target_names). Views: pix (the 48 x 48 image averaged
over 3 x 3 windows, 256 columns), hog (9-bin gradient-orientation histograms
in 6 x 6 cells, 324 columns); row i is the same rendering in both views.
Made by benchmarks/make_hangul.py from Debian's fonts-nanum,
fonts-unfonts-core, fonts-baekmuk and fonts-noto-cjk
(skcmkd/data/hangul/README.md).
"""


def load_hangul(view):
    """Load one view of the bundled Hangul family: 100 classes, two feature extractors.

    Every row is one rendering of one of 100 Hangul syllables (ten initial
    consonants times ten vowels) in one of 26 fonts, with a random size,
    shift, rotation, shear, stroke weight, blur and pixel noise; the two
    views are two feature extractors of the same renderings, as mfeat's are
    of the same digits. Syllables that share a consonant or a vowel share
    strokes: the classes have a relation structure for a teacher to carry.

    Parameters
    ----------
    view : {"pix", "hog"}
        ``"pix"``: grey levels averaged over 3 x 3 pixel windows (256
        columns); ``"hog"``: histograms of gradient orientation (324 columns).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data``: float64 array of shape ``(8000, n_features)`` in ``[0, 1]``;
        ``target``: the class ``0..99`` (int64, 80 rows each, in class
        order); ``target_names``: the syllables; ``DESCR``.

    Examples
    --------
    >>> from skcmkd.datasets import load_hangul
    >>> data = load_hangul("hog")
    >>> data.data.shape, len(data.target_names), data.target_names[:3]
    ((8000, 324), 100, ['가', '갸', '거'])
    """
    if view not in HANGUL_VIEWS:
        raise ValueError(f"view must be one of {sorted(HANGUL_VIEWS)}, got {view!r}.")
    table = _read_table("hangul", f"hangul-{view}.csv.gz")
    names = [chr(0xAC00 + (i * 21 + v) * 28) for i in _HANGUL_INITIALS for v in _HANGUL_VOWELS]
    return Bunch(
        data=table[:, :-1] / 63.0,
        target=table[:, -1].astype(np.int64),
        target_names=names,
        DESCR=_HANGUL_DESCR,
    )


#: Unicode's indices of the family's initial consonants and vowels.
_HANGUL_INITIALS = (0, 2, 3, 5, 6, 7, 9, 11, 12, 18)
_HANGUL_VOWELS = (0, 2, 4, 6, 8, 12, 13, 17, 18, 20)


def load_shapes(modality, *, n_per_class=200, random_state=None):
    """Geometric shapes, seen as raster images or as boundary signatures (generated).

    Ten classes (:data:`SHAPE_CLASSES`: circle, ellipse, triangle, square,
    rectangle, pentagon, hexagon, octagon, star, cross), each instance with
    its own rotation, size, position and a wobble of its boundary. Made on
    the fly by a seeded NumPy generator: the same ``random_state`` gives the
    same data on any machine. ``skcmkd/data/shapes/README.md`` says how.

    Parameters
    ----------
    modality : {"image", "contour"}
        ``"image"``: 24 x 24 grey images, filled or outlined, with pixel
        noise (576 features). ``"contour"``: the radius of the boundary along
        64 directions from a roughly estimated centre, as 16 Fourier
        magnitudes and 16 quantiles (32 features, free of rotation and size).
    n_per_class : int, default=200
    random_state : int or None, default=None
        ``None`` gives the data of :func:`load_unpaired`'s sources: seed 0
        for the images and 1 for the contours, so the two never show the same
        instance.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (float32), ``target`` (int64, class order shuffled),
        ``target_names``, ``DESCR``.

    Examples
    --------
    >>> from skcmkd.datasets import load_shapes
    >>> data = load_shapes("contour", n_per_class=3)
    >>> data.data.shape, data.target_names[:3]
    ((30, 32), ('circle', 'ellipse', 'triangle'))
    """
    return _generated(make_shapes, _SHAPE_SEEDS, modality, n_per_class, random_state,
                      names=SHAPE_CLASSES, descr=_SHAPES_DESCR)  # fmt: skip


_SHAPE_SEEDS = {"image": 0, "contour": 1}
_SHAPES_DESCR = "Geometric shapes as images or boundary signatures; see load_shapes."


def load_activities(modality, *, n_per_class=200, random_state=None):
    """Human activities seen by a simulated accelerometer or gyroscope (generated).

    Ten classes (:data:`ACTIVITY_CLASSES`: sitting, standing, lying,
    walking, jogging, running, stairs up, stairs down, cycling, jumping) from
    one motion model per activity: a posture, a gait at the activity's step
    frequency with swings of the thigh and impacts at each step, each
    instance with its own vigour, pace, sensor mounting and noise. The two
    sensors see different instances and are summarised by different
    features. Made on the fly by a seeded NumPy generator; the same
    ``random_state`` gives the same data on any machine.
    ``skcmkd/data/activities/README.md`` says how.

    Parameters
    ----------
    modality : {"accelerometer", "gyroscope"}
        ``"accelerometer"``: mean, spread and a 16-bin spectrum of each of
        three axes (54 features). ``"gyroscope"``: spread and quantiles of
        the three rotation rates and the autocorrelation of the rotation
        speed (36 features). A gyroscope does not see gravity: the three
        postures look alike to it.
    n_per_class : int, default=200
    random_state : int or None, default=None
        ``None`` gives the data of :func:`load_unpaired`'s sources: seed 0
        for the accelerometer and 1 for the gyroscope.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (float32), ``target`` (int64, class order shuffled),
        ``target_names``, ``DESCR``.

    Examples
    --------
    >>> from skcmkd.datasets import load_activities
    >>> data = load_activities("gyroscope", n_per_class=3)
    >>> data.data.shape, data.target_names[:3]
    ((30, 36), ('sitting', 'standing', 'lying'))
    """
    return _generated(make_activities, _ACTIVITY_SEEDS, modality, n_per_class, random_state,
                      names=ACTIVITY_CLASSES, descr=_ACTIVITIES_DESCR)  # fmt: skip


_ACTIVITY_SEEDS = {"accelerometer": 0, "gyroscope": 1}
_ACTIVITIES_DESCR = "Human activities seen by a simulated body-worn sensor; see load_activities."


def _generated(make, seeds, modality, n_per_class, random_state, *, names, descr):
    """One modality of a generated family; ``seeds`` gives each modality's default seed."""
    if modality not in seeds:
        raise ValueError(f"modality must be one of {sorted(seeds)}, got {modality!r}.")
    seed = seeds[modality] if random_state is None else random_state
    X, y = make(modality, n_per_class=n_per_class, random_state=seed)
    return Bunch(data=X, target=y, target_names=names, DESCR=descr)


#: The generated families, by the prefix of their sources ("shapes-image"...).
_GENERATED = {"shapes": load_shapes, "activities": load_activities}


def _load_source(source):
    """Features and labels of one data source of :data:`SOURCES`."""
    if source in MFEAT_VIEWS:
        data = load_mfeat(source)
        return data.views[source], data.target
    if source.startswith("hangul-") and source[7:] in HANGUL_VIEWS:
        data = load_hangul(source[7:])
        return data.data, data.target
    if source in ("speech", "speech-mfcc"):
        data = load_spoken_digits("mel" if source == "speech" else "mfcc")
        return data.data, data.target
    family, _, modality = source.partition("-")
    if family in _GENERATED and modality:
        data = _GENERATED[family](modality)
        return data.data, data.target
    if source == "digits":
        from sklearn.datasets import load_digits

        data = load_digits()
        return data.data, data.target.astype(np.int64)
    raise ValueError(f"Unknown data source {source!r}; choose among {sorted(SOURCES)}.")


#: The data sources :func:`load_unpaired` takes for either side: the six mfeat
#: views, the spoken digits, scikit-learn's 8x8 digit images, the two
#: views of the generated shapes and the two sensors of the generated activities.
SOURCES = {
    **{view: f"UCI mfeat view {view!r} (handwritten digits)" for view in MFEAT_VIEWS},
    "speech": "spoken digits, synthetic speech (load_spoken_digits)",
    "speech-mfcc": "spoken digits made differently, cepstral features (load_spoken_digits)",
    "digits": "scikit-learn's 8x8 digit images (sklearn.datasets.load_digits)",
    "shapes-image": "geometric shapes, 24x24 raster images (load_shapes)",
    "shapes-contour": "geometric shapes, boundary signatures (load_shapes)",
    "activities-accelerometer": "human activities, simulated accelerometer (load_activities)",
    "activities-gyroscope": "human activities, simulated gyroscope (load_activities)",
    "hangul-pix": "100 Hangul syllables in 26 fonts, pixel averages (load_hangul)",
    "hangul-hog": "100 Hangul syllables in 26 fonts, gradient-orientation histograms (load_hangul)",
}


def _views_of_one_set(teacher, student):
    """Are the two sources two views of the same rows (mfeat's views, Hangul's)?"""
    hangul = [source.startswith("hangul-") for source in (teacher, student)]
    return (teacher in MFEAT_VIEWS and student in MFEAT_VIEWS) or all(hangul)


def load_mfeat(views=None):
    """Load the bundled UCI Multiple Features data set.

    Parameters
    ----------
    views : str or list of str, default=None
        Which views to load, among ``MFEAT_VIEWS`` (``"fou"``, ``"fac"``,
        ``"kar"``, ``"pix"``, ``"zer"``, ``"mor"``). ``None`` loads all six.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``views`` maps each view name to a float64 array of shape
        ``(2000, n_features_view)``; ``target`` holds the digit labels
        ``0..9`` (int64); ``DESCR`` gives the source and its attribution.
        Row ``i`` is the same digit in every view: split the rows to make
        the views unpaired (see :func:`unpaired_split`).

    Examples
    --------
    >>> from skcmkd.datasets import load_mfeat
    >>> data = load_mfeat(["fac", "fou"])
    >>> data.views["fac"].shape, data.views["fou"].shape, data.target.shape
    ((2000, 216), (2000, 76), (2000,))
    """
    if views is None:
        views = list(MFEAT_VIEWS)
    elif isinstance(views, str):
        views = [views]
    unknown = sorted(set(views) - set(MFEAT_VIEWS))
    if unknown:
        raise ValueError(f"Unknown mfeat view(s) {unknown}; choose among {sorted(MFEAT_VIEWS)}.")
    tables = {view: _read_view(view) for view in views}
    target = next(iter(tables.values()))[:, -1].astype(np.int64)
    return Bunch(
        views={view: table[:, :-1].copy() for view, table in tables.items()},
        target=target,
        DESCR=_MFEAT_DESCR,
    )


def unpaired_split(y, *, sizes, labels_per_class=None, labelled_part=1, random_state=None):
    """Split row indices into disjoint, class-stratified parts.

    The multi-view data sets pair row ``i`` of every view; giving each side of
    a distillation a disjoint part of the rows makes the two sides unpaired.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels, used to stratify every part.
    sizes : sequence of float
        Fraction of each class that goes to each part, in order; they must
        sum to at most 1.
    labels_per_class : int, default=None
        If given, also return a label vector for the part ``labelled_part``
        (the student training part) in which all but ``labels_per_class``
        rows of each class are marked ``-1`` (unlabelled); ``0`` marks all.
    labelled_part : int, default=1
        Which part ``labels_per_class`` applies to.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle.

    Returns
    -------
    parts : list of ndarray
        Row indices of each part, disjoint.
    y_partial : ndarray
        Only when ``labels_per_class`` is given: the labels of the second
        part with unlabelled rows set to ``-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd.datasets import unpaired_split
    >>> y = np.repeat(np.arange(3), 10)
    >>> teacher, student, test = unpaired_split(y, sizes=[0.4, 0.4, 0.2], random_state=0)
    >>> len(teacher), len(student), len(test), len(set(teacher) & set(student))
    (12, 12, 6, 0)
    """
    y = np.asarray(y)
    sizes = np.asarray(sizes, dtype=float)
    if np.any(sizes <= 0) or sizes.sum() > 1 + 1e-9:
        raise ValueError(f"sizes must be positive and sum to at most 1, got {list(sizes)}.")
    rng = check_random_state(random_state)
    parts = [[] for _ in sizes]
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        bounds = np.round(np.cumsum(sizes) * len(rows)).astype(int)
        for part, start, stop in zip(parts, np.r_[0, bounds[:-1]], bounds, strict=True):
            part.extend(rows[start:stop])
    parts = [np.sort(np.asarray(part, dtype=np.int64)) for part in parts]
    if labels_per_class is None:
        return parts
    y_partial = y[parts[labelled_part]].astype(object if y.dtype.kind in "OUS" else y.dtype)
    keep = np.zeros(len(y_partial), dtype=bool)
    for label in np.unique(y_partial):
        rows = np.flatnonzero(y_partial == label)
        keep[rng.choice(rows, size=min(labels_per_class, len(rows)), replace=False)] = True
    y_partial[~keep] = -1
    return parts, y_partial


def load_mfeat_unpaired(teacher_view, student_view, *, labels_per_class=None, random_state=None):
    """Two mfeat views as an unpaired distillation problem, ready to fit.

    The 2000 digits are split, class-stratified, into a teacher set (40%), a
    student training set (35%) and a student test set (25%); no digit is on
    both sides. This is the split of the demo and of the benchmarks.

    Parameters
    ----------
    teacher_view, student_view : str
        Views among ``MFEAT_VIEWS``.
    labels_per_class : int, default=None
        Labelled student training rows per class; the others get ``-1``.
        ``None`` labels every row.
    random_state : int, RandomState instance or None, default=None
        Seeds the split and the choice of labelled rows.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_teacher``, ``y_teacher``; ``X_student``, ``y_student`` (int64,
        ``-1`` for unlabelled rows) and ``y_student_true`` (the hidden
        labels, for evaluation only); ``X_test``, ``y_test``;
        ``X_student_paired`` and ``X_test_paired``: the *teacher* view of the
        student training and test digits, which an unpaired method must not
        use (paired baselines and teacher accuracy only).

    Examples
    --------
    >>> from skcmkd.datasets import load_mfeat_unpaired
    >>> data = load_mfeat_unpaired("fac", "fou", labels_per_class=5, random_state=0)
    >>> data.X_teacher.shape, data.X_student.shape, int((data.y_student != -1).sum())
    ((800, 216), (700, 76), 50)
    """
    if teacher_view not in MFEAT_VIEWS or student_view not in MFEAT_VIEWS:
        raise ValueError(
            f"Unknown mfeat view(s) {teacher_view!r}, {student_view!r}; choose among "
            f"{sorted(MFEAT_VIEWS)}, or use load_unpaired for the other data sources."
        )
    return load_unpaired(
        teacher_view, student_view, labels_per_class=labels_per_class, random_state=random_state
    )


def load_unpaired(teacher, student, *, labels_per_class=None, classes=None, random_state=None):
    """An unpaired distillation problem from two data sources, ready to fit.

    Two views of the same rows (two mfeat views, the same digits seen twice;
    or the two Hangul views) are made unpaired as in
    :func:`load_mfeat_unpaired`: 40% of the rows go to the teacher, 35% to
    the student's training set and 25% to its test set. Two different data
    sets (say ``"digits"`` images teaching ``"speech"``) share no sample to
    begin with: the teacher gets 80% of its data set (the other 20% measure
    its own accuracy), the student 60% of its data set for training and 40%
    for testing.

    Parameters
    ----------
    teacher, student : str
        Data sources among :data:`SOURCES`, different from each other.
    labels_per_class : int, default=None
        Labelled student training rows per class; the others get ``-1``.
        ``None`` labels every row; ``0`` labels none.
    classes : array-like, default=None
        Keep only the rows of these classes, on both sides (a family of
        fewer classes: ``classes=range(26)`` of the Hangul family). ``None``
        keeps every class.
    random_state : int, RandomState instance or None, default=None
        Seeds the splits and the choice of labelled rows.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_teacher``, ``y_teacher``; ``X_student``, ``y_student`` (int64,
        ``-1`` for unlabelled rows) and ``y_student_true`` (the hidden
        labels, for evaluation only); ``X_test``, ``y_test``;
        ``X_teacher_test``, ``y_teacher_test``: held-out rows of the
        teacher's source, for its own accuracy; ``X_student_paired``: the
        teacher-source view of the student training digits where such pairs
        exist (two views of one set), else ``None``. Unpaired methods must not use
        it (paired baselines only).

    Examples
    --------
    >>> from skcmkd.datasets import load_unpaired
    >>> data = load_unpaired("digits", "speech", labels_per_class=5, random_state=0)
    >>> data.X_teacher.shape, data.X_student.shape, int((data.y_student != -1).sum())
    ((1438, 64), (1200, 120), 50)
    >>> data.X_student_paired is None
    True
    """
    if teacher == student:
        raise ValueError(f"teacher and student are both {teacher!r}; choose two sources.")
    if labels_per_class is not None and labels_per_class < 0:
        raise ValueError(f"labels_per_class must be >= 0 or None, got {labels_per_class}.")
    X_t, y_t = _load_source(teacher)
    X_s, y_s = _load_source(student)
    if classes is not None:
        kept = np.unique(np.asarray(list(classes)))
        if len(kept) < 2:
            raise ValueError(f"classes must name at least two classes, got {kept.tolist()}.")
        for source, labels in ((student, y_s), (teacher, y_t)):
            missing = np.setdiff1d(kept, labels)
            if missing.size:
                raise ValueError(
                    f"classes {missing.tolist()} are not among the {len(np.unique(labels))} "
                    f"classes of {source!r}."
                )
        X_t, y_t = X_t[np.isin(y_t, kept)], y_t[np.isin(y_t, kept)]
        X_s, y_s = X_s[np.isin(y_s, kept)], y_s[np.isin(y_s, kept)]
    n_labels = len(y_s) if labels_per_class is None else labels_per_class
    paired = _views_of_one_set(teacher, student)
    if paired:  # the same rows in both views: split the rows once
        (t_rows, s_rows, test_rows), y_student = unpaired_split(
            y_s, sizes=[0.4, 0.35, 0.25], labels_per_class=n_labels, random_state=random_state
        )
        t_test = test_rows
    else:  # two data sets: split each
        rng = check_random_state(random_state)
        t_rows, t_test = unpaired_split(y_t, sizes=[0.8, 0.2], random_state=rng)
        (s_rows, test_rows), y_student = unpaired_split(
            y_s, sizes=[0.6, 0.4], labels_per_class=n_labels, labelled_part=0, random_state=rng
        )
    return Bunch(
        X_teacher=X_t[t_rows],
        y_teacher=y_t[t_rows],
        X_student=X_s[s_rows],
        y_student=y_student.astype(np.int64),
        y_student_true=y_s[s_rows],
        X_test=X_s[test_rows],
        y_test=y_s[test_rows],
        X_teacher_test=X_t[t_test],
        y_teacher_test=y_t[t_test],
        X_student_paired=X_t[s_rows] if paired else None,
        X_test_paired=X_t[test_rows] if paired else None,
    )


def hide_classes(y_true, *, n_unseen, labels_per_class, random_state=None):
    """Labels for the unseen-class setting: some classes get no labelled row at all.

    ``n_unseen`` classes are drawn as unseen; each other class keeps
    ``labels_per_class`` labelled rows drawn at random; every other row is
    ``-1``. A teacher that knows all the classes can name the unseen ones
    (:class:`~skcmkd.UnseenClassNamer`); nothing else can.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The true labels of the student's training rows.
    n_unseen : int
        Classes without any labelled row; fewer than the classes of ``y_true``.
    labels_per_class : int
        Labelled rows of each other class (all of its rows, if it has fewer).
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of the classes and of the labelled rows.

    Returns
    -------
    y : ndarray of shape (n_samples,)
        ``y_true`` with ``-1`` for every unlabelled row.
    unseen : ndarray
        The classes without a labelled row, sorted.

    Examples
    --------
    >>> import numpy as np
    >>> from skcmkd.datasets import hide_classes
    >>> y, unseen = hide_classes(np.arange(40) % 4, n_unseen=2, labels_per_class=3, random_state=0)
    >>> len(unseen), int((y != -1).sum()), bool(np.isin(y, unseen).any())
    (2, 6, False)
    """
    y_true = np.asarray(y_true)
    classes = np.unique(y_true)
    if not 0 <= n_unseen < len(classes):
        raise ValueError(
            f"n_unseen must be between 0 and {len(classes) - 1} (y_true has {len(classes)} "
            f"classes), got {n_unseen}."
        )
    rng = check_random_state(random_state)
    unseen = np.sort(rng.choice(classes, n_unseen, replace=False))
    numeric = y_true.dtype.kind in "iu"
    y = np.full(len(y_true), -1 if numeric else "-1", dtype=np.int64 if numeric else object)
    for c in np.setdiff1d(classes, unseen):
        rows = np.flatnonzero(y_true == c)
        chosen = rng.choice(rows, min(labels_per_class, len(rows)), replace=False)
        y[chosen] = y_true[chosen]
    return y, unseen
