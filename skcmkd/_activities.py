"""Human activities seen by two simulated body-worn sensors of one motion model.

One motion model per activity: a posture (the sensor's tilt against gravity),
a gait phase at the activity's step frequency, angular swings of the thigh
(pitch, and roll and yaw at half the step frequency: left and right strides)
and a linear acceleration of the body with impacts at each step. An
*accelerometer* measures gravity plus the linear acceleration in the
sensor's frame; a *gyroscope* measures the rate of change of the angles. The
two sensors are simulated on different instances (other subjects, other
windows), so no row of one is paired with a row of the other, and their
features are computed differently (spectra of each axis for the
accelerometer; rates' spread, quantiles and the autocorrelation of the
rotation speed for the gyroscope). The gyroscope cannot see the posture:
sitting, standing and lying look alike to it, as they do to a real one.
"""

import numpy as np

#: The activity classes, in label order.
ACTIVITY_CLASSES = (
    "sitting",
    "standing",
    "lying",
    "walking",
    "jogging",
    "running",
    "stairs up",
    "stairs down",
    "cycling",
    "jumping",
)

RATE = 50.0  # samples per second
WINDOW = 256  # samples per instance (5.12 s)
N_SPECTRUM = 16  # accelerometer: spectrum bins per axis, 0.2-8 Hz
N_LAGS = 24  # gyroscope: autocorrelation lags of the rotation speed

# Per activity: step frequency (Hz), posture pitch and roll (rad), pitch,
# roll and yaw swing (rad), vertical, forward and lateral acceleration (g),
# impact strength (g) at each step.
_MOTION = {
    "sitting": (0.0, 1.45, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "standing": (0.0, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "lying": (0.0, 1.45, 1.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "walking": (1.9, 0.10, 0.0, 0.35, 0.08, 0.10, 0.25, 0.15, 0.06, 0.30),
    "jogging": (2.6, 0.15, 0.0, 0.60, 0.12, 0.12, 0.75, 0.25, 0.10, 0.80),
    "running": (3.0, 0.20, 0.0, 0.85, 0.14, 0.14, 1.20, 0.35, 0.12, 1.10),
    "stairs up": (1.5, 0.30, 0.0, 0.55, 0.08, 0.08, 0.30, 0.10, 0.06, 0.25),
    "stairs down": (1.8, -0.05, 0.0, 0.30, 0.10, 0.10, 0.40, 0.12, 0.08, 0.70),
    "cycling": (1.2, 1.00, 0.0, 0.45, 0.03, 0.05, 0.05, 0.05, 0.03, 0.0),
    "jumping": (1.8, 0.05, 0.0, 0.20, 0.05, 0.04, 1.40, 0.05, 0.05, 1.20),
}


def _rotation(roll, pitch, yaw):
    """Rotation matrices (..., 3, 3) from body to world for arrays of angles."""
    cr, sr, cp, sp, cy, sy = (f(a) for a in (roll, pitch, yaw) for f in (np.cos, np.sin))
    return np.stack(
        [
            np.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], -1),
            np.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], -1),
            np.stack([-sp, cp * sr, cp * cr], -1),
        ],
        -2,
    )


def _motion(activity, rng):
    """Angles (3, WINDOW) and world-frame acceleration (3, WINDOW) of one instance."""
    f, pitch0, roll0, a_pitch, a_roll, a_yaw, a_up, a_fwd, a_side, impact = _MOTION[activity]
    scale = rng.lognormal(0, 0.15)  # the subject's vigour
    f = f * rng.normal(1, 0.08)
    # the gait phase drifts a little: a random walk of the frequency
    drift = np.cumsum(rng.normal(0, 0.02, WINDOW)) * f
    phase = 2 * np.pi * np.cumsum(np.full(WINDOW, f) + drift) / RATE + rng.uniform(0, 2 * np.pi)
    half = phase / 2
    fidget = np.cumsum(rng.normal(0, 0.004, (3, WINDOW)), axis=1)  # slow posture changes
    pitch = pitch0 + rng.normal(0, 0.1) + scale * a_pitch * np.sin(phase) + fidget[0]
    roll = roll0 + rng.normal(0, 0.1) + scale * a_roll * np.sin(half) + fidget[1]
    yaw = scale * a_yaw * np.sin(half + 0.7) + fidget[2]
    steps = np.maximum(np.cos(phase), 0) ** 8  # a sharp peak once per step
    accel = np.stack(
        [
            scale * (a_fwd * np.sin(phase + np.pi / 3)),
            scale * (a_side * np.sin(half)),
            scale * (a_up * np.sin(phase) + impact * steps),
        ]
    )
    return np.stack([roll, pitch, yaw]), accel


def _mounting(rng):
    """A small random rotation of the sensor on the body (how it was strapped on)."""
    return _rotation(*rng.normal(0, 0.15, 3))


def _accelerometer(activity, rng):
    angles, accel = _motion(activity, rng)
    body_to_world = _rotation(*angles)  # (WINDOW, 3, 3)
    gravity = np.array([0.0, 0.0, 1.0])
    world = accel.T + gravity  # specific force, in g
    sensed = np.einsum("tji,tj->ti", body_to_world, world) @ _mounting(rng)
    sensed = sensed + rng.normal(0, rng.uniform(0.01, 0.05), sensed.shape)
    spectrum = np.abs(np.fft.rfft(sensed - sensed.mean(0), axis=0))[1 : 1 + 2 * N_SPECTRUM]
    spectrum = spectrum.reshape(N_SPECTRUM, 2, 3).sum(1) / WINDOW  # 0.2 Hz... 6.4 Hz in pairs
    return np.concatenate([sensed.mean(0), sensed.std(0), np.log1p(50 * spectrum).T.ravel()])


def _gyroscope(activity, rng):
    angles, _ = _motion(activity, rng)
    rates = np.gradient(angles, 1 / RATE, axis=1).T @ _mounting(rng)
    rates = rates + rng.normal(0, 0.02, 3) + rng.normal(0, rng.uniform(0.02, 0.08), rates.shape)
    speed = np.linalg.norm(rates, axis=1)
    centred = speed - speed.mean()
    auto = np.correlate(centred, centred, "full")[WINDOW - 1 :]
    auto = auto[1 : 1 + 2 * N_LAGS : 2] / max(auto[0], 1e-12)  # every other lag
    quantiles = np.quantile(np.abs(rates), [0.1, 0.5, 0.9], axis=0).ravel()
    return np.concatenate([np.log(rates.std(0) + 1e-3), quantiles, auto])


_SENSORS = {"accelerometer": _accelerometer, "gyroscope": _gyroscope}


def make_activities(modality, *, n_per_class=200, random_state=0):
    """Rows of one sensor: ``(X float32, y int64)``, classes in shuffled row order."""
    rng = np.random.default_rng(random_state)
    sense = _SENSORS[modality]
    y = rng.permutation(np.repeat(np.arange(len(ACTIVITY_CLASSES)), n_per_class))
    X = np.stack([sense(ACTIVITY_CLASSES[label], rng) for label in y])
    return X.astype(np.float32), y.astype(np.int64)
