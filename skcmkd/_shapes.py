"""Geometric shapes seen two ways: raster images and boundary signatures.

Every shape class is star-shaped about its centre, so one function describes
an instance: its radius ``r(theta)`` along each direction. A raster image
fills the pixels whose distance from the centre is below the radius in their
direction (or only a band under it, for an outline); a boundary signature
samples the radius along the directions and keeps what does not depend on
the rotation or the size.
"""

import numpy as np

#: The shape classes, in label order.
SHAPE_CLASSES = (
    "circle",
    "ellipse",
    "triangle",
    "square",
    "rectangle",
    "pentagon",
    "hexagon",
    "octagon",
    "star",
    "cross",
)

IMAGE_SIZE = 24
N_ANGLES = 64
N_HARMONICS = 16
N_QUANTILES = 16


def _polygon_radius(vertices, theta):
    """Radius of a polygon star-shaped about the origin, along each angle of ``theta``.

    The ray at angle ``theta`` meets the boundary where it crosses one of the
    edges; the polygon being star-shaped about the origin, exactly one edge
    is crossed at a positive distance (the nearest one is kept).
    """
    direction = np.stack([np.cos(theta), np.sin(theta)], axis=-1)[..., None, :]
    start, end = vertices, np.roll(vertices, -1, axis=0)
    edge = end - start
    # solve t * d = start + u * edge for t (distance) and u in [0, 1]
    denominator = direction[..., 0] * edge[:, 1] - direction[..., 1] * edge[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (start[:, 0] * edge[:, 1] - start[:, 1] * edge[:, 0]) / denominator
        u = (start[:, 0] * direction[..., 1] - start[:, 1] * direction[..., 0]) / denominator
    valid = (t > 0) & (u >= -1e-9) & (u <= 1 + 1e-9) & np.isfinite(t)
    return np.where(valid, t, np.inf).min(axis=-1)


def _vertices(name, rng):
    """The polygon of one instance of a polygonal class (unit size, unrotated)."""
    if name in ("triangle", "square", "pentagon", "hexagon", "octagon"):
        n = {"triangle": 3, "square": 4, "pentagon": 5, "hexagon": 6, "octagon": 8}[name]
        angles = 2 * np.pi * np.arange(n) / n
        return np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if name == "rectangle":
        b = rng.uniform(0.4, 0.6)
        return np.array([[1, b], [-1, b], [-1, -b], [1, -b]]) / np.hypot(1, b)
    if name == "star":
        inner = rng.uniform(0.35, 0.5)
        angles = np.pi * np.arange(10) / 5
        radii = np.where(np.arange(10) % 2 == 0, 1.0, inner)
        return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    if name == "cross":
        w = rng.uniform(0.28, 0.42)
        arm = np.array([[1, -w], [1, w], [w, w]])
        turns = [
            np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            for a in np.pi / 2 * np.arange(4)
        ]
        return np.concatenate([arm @ turn.T for turn in turns]) / np.hypot(1, w)
    raise ValueError(name)


def _radius_function(name, rng):
    """``r(theta)`` of one random instance of class ``name``: rotation, jitter, aspect."""
    rotation = rng.uniform(0, 2 * np.pi)
    # a smooth random wobble of the boundary: a few low harmonics, a few % each
    harmonics = np.arange(2, 6)
    amplitude = rng.normal(0, 0.03, size=len(harmonics))
    phase = rng.uniform(0, 2 * np.pi, size=len(harmonics))

    def wobble(theta):
        return 1 + (amplitude * np.cos(harmonics * theta[..., None] + phase)).sum(-1)

    if name == "circle":
        return lambda theta: 0.85 * wobble(theta)
    if name == "ellipse":
        b = rng.uniform(0.45, 0.65)

        def ellipse(theta):
            local = theta - rotation
            return wobble(theta) / np.sqrt(np.cos(local) ** 2 + (np.sin(local) / b) ** 2)

        return ellipse
    vertices = _vertices(name, rng)
    return lambda theta: _polygon_radius(vertices, theta - rotation) * wobble(theta)


def shape_images(labels, rng):
    """One raster image (``IMAGE_SIZE`` squared, flattened, float32) per label."""
    size = IMAGE_SIZE
    sub = (np.arange(2 * size) + 0.5) / (2 * size) * 2 - 1  # 2x2 supersampling on [-1, 1]
    gx, gy = np.meshgrid(sub, sub)
    images = np.empty((len(labels), size * size), dtype=np.float32)
    for i, label in enumerate(labels):
        radius = _radius_function(SHAPE_CLASSES[label], rng)
        scale = rng.uniform(0.6, 0.9)
        cx, cy = rng.uniform(-0.06, 0.06, size=2)
        x, y = (gx - cx) / scale, (gy - cy) / scale
        rho, theta = np.hypot(x, y), np.arctan2(y, x)
        r = radius(theta)
        inside = rho < r
        if rng.random() < 0.25:  # an outline of random thickness instead of a filled shape
            inside &= rho > r - rng.uniform(0.15, 0.3)
        image = inside.reshape(size, 2, size, 2).mean(axis=(1, 3))
        image = image * rng.uniform(0.6, 1.0) + rng.normal(0, 0.1, size=image.shape)
        images[i] = image.ravel()
    return images


def shape_signatures(labels, rng):
    """One boundary signature per label: rotation- and size-free features of ``r(theta)``.

    The radius is measured along ``N_ANGLES`` directions from a centre that
    is itself estimated with an error (10% of the size), with 5% noise; divided by its mean (no
    size), it gives the magnitudes of its first ``N_HARMONICS`` Fourier
    coefficients (no rotation) and ``N_QUANTILES`` quantiles of its values.
    """
    theta = 2 * np.pi * np.arange(N_ANGLES) / N_ANGLES
    features = np.empty((len(labels), N_HARMONICS + N_QUANTILES), dtype=np.float32)
    for i, label in enumerate(labels):
        radius = _radius_function(SHAPE_CLASSES[label], rng)
        # the boundary seen from a centre off by a few % of the size
        dense = np.linspace(0, 2 * np.pi, 720, endpoint=False)
        boundary = radius(dense)[:, None] * np.stack([np.cos(dense), np.sin(dense)], axis=1)
        boundary -= rng.normal(0, 0.1, size=2)
        seen_angle = np.arctan2(boundary[:, 1], boundary[:, 0]) % (2 * np.pi)
        order = np.argsort(seen_angle)
        r = np.interp(theta, seen_angle[order], np.hypot(*boundary[order].T), period=2 * np.pi) * (
            1 + rng.normal(0, 0.05, size=N_ANGLES)
        )
        r = r / r.mean()
        spectrum = np.abs(np.fft.rfft(r))[1 : N_HARMONICS + 1] / N_ANGLES
        quantiles = np.quantile(r, np.linspace(0, 1, N_QUANTILES))
        features[i] = np.r_[spectrum, quantiles]
    return features


def make_shapes(modality, *, n_per_class=200, random_state=0):
    """Labels and features of ``n_per_class`` random instances of each shape class."""
    rng = np.random.default_rng(random_state)
    labels = np.repeat(np.arange(len(SHAPE_CLASSES)), n_per_class)
    rng.shuffle(labels)
    make = {"image": shape_images, "contour": shape_signatures}[modality]
    return make(labels, rng), labels.astype(np.int64)
