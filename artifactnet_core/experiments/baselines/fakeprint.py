"""The Fourier "fakeprint" baseline: peaks of the long-term spectrum + logistic regression.

Afchar, Meseguer-Brocal, Akesbi and Hennequin ("A Fourier explanation of AI-music artifacts",
ISMIR 2025) show that the up-sampling layers of neural decoders (transposed convolutions with
stride k) leave peaks at multiples of ``sr / k`` in the long-term average spectrum. Their
detector reads only those peaks: a power STFT with a very long window (n_fft 16384, 2.7 Hz bins
at 44.1 kHz) averaged over time in dB, the 5-16 kHz band, its lower hull subtracted so that only
what sticks out above the spectral envelope remains, clipped at a few dB and max-normalised; a
linear classifier on that vector. We follow their public reference code step by step; the STFT
runs in torch through :mod:`artifactnet_core.detector.spectral` (periodic Hann window, hop ``n_fft // 2``,
centred with reflect padding, the defaults of the reference's ``torchaudio.transforms.Spectrogram``),
everything after it in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.interpolate import make_interp_spline
from scipy.special import expit
from tqdm.auto import tqdm

from artifactnet_core.checkpoint import load_checkpoint, save_checkpoint
from artifactnet_core.detector.config import SAMPLE_RATE
from artifactnet_core.detector.spectral import stft
from artifactnet_core.experiments.metrics import roc_auc

#: Reference parameters (Afchar et al. 2025).
N_FFT = 16_384
FMIN = 5_000.0
FMAX = 16_000.0
HULL_WIDTH = 10
HULL_FLOOR_DB = -45.0
CLIP_DB = 5.0
#: Inverse regularisation strengths tried on the validation set.
C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)


def fakeprint_frequencies(*, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, fmin: float = FMIN,
                          fmax: float = FMAX) -> np.ndarray:
    """Centre frequency in Hz of each fakeprint feature (the STFT bins strictly inside
    ``(fmin, fmax)``); the x axis for plots. """
    freqs = np.linspace(0.0, sr / 2, 1 + n_fft // 2)
    return freqs[(freqs > fmin) & (freqs < fmax)]


def lower_hull(curve: np.ndarray, *, width: int = HULL_WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """Anchor points of the lower envelope of ``curve``: the minimum of every window of
    ``width`` consecutive bins, plus both end points.

    Returns ``(indices, values)`` with sorted, unique indices. Taught in ``06_baselines``.
    """
    if len(curve) < width:
        raise ValueError(f"curve of {len(curve)} bins is shorter than the hull width {width}")
    windows = np.lib.stride_tricks.sliding_window_view(curve, width)
    # A window's argmin never lies left of the previous window's, so np.unique keeps the
    # reference's order (its loop appends each new position once).
    idx = np.unique(np.argmin(windows, axis=1) + np.arange(len(windows)))
    idx = np.union1d(idx, [0, len(curve) - 1])
    return idx, curve[idx]


def peak_residue(freqs: np.ndarray, curve_db: np.ndarray, *, width: int = HULL_WIDTH,
                 floor_db: float = HULL_FLOOR_DB) -> np.ndarray:
    """``curve_db`` minus a quadratic spline through its lower-hull anchors, clipped at 0 dB.

    The spline is floored at ``floor_db`` so that a near-silent band does not turn into
    residue.
    """
    idx, hull = lower_hull(curve_db, width=width)
    baseline = make_interp_spline(freqs[idx], hull, k=2)(freqs)
    return np.clip(curve_db - np.clip(baseline, floor_db, None), 0.0, None)


def mean_power_db(audio: np.ndarray | torch.Tensor, *, n_fft: int = N_FFT) -> np.ndarray:
    """Time average of the power STFT in dB, ``mean_t 10 log10(clip(|X|^2, 1e-10, 1e6))``.

    Parameters
    ----------
    audio : array
        Mono signal ``(samples,)`` or a batch ``(batch, samples)`` of equal-length signals.
    n_fft : int
        FFT and window length in samples; hop ``n_fft // 2``.

    Returns
    -------
    numpy.ndarray
        ``(1 + n_fft // 2,)`` or ``(batch, 1 + n_fft // 2)`` in dB (float64).
    """
    x = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    if x.shape[-1] <= n_fft // 2:
        raise ValueError(f"need more than {n_fft // 2} samples for n_fft={n_fft}, "
                         f"got {x.shape[-1]}")
    if not torch.isfinite(x).all():
        raise ValueError("audio contains NaN or infinite samples")
    power = stft(x, n_fft=n_fft, hop_length=n_fft // 2).abs().square()
    db = 10.0 * torch.log10(power.clamp(1e-10, 1e6))
    return db.mean(dim=-1).double().numpy()


def fakeprint(audio: np.ndarray, *, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, fmin: float = FMIN,
              fmax: float = FMAX, hull_width: int = HULL_WIDTH,
              floor_db: float = HULL_FLOOR_DB, clip_db: float = CLIP_DB) -> np.ndarray:
    """The fakeprint of one clip: spectral peaks above the lower hull, in ``[0, 1]``.

    Steps: time-averaged power STFT in dB (:func:`mean_power_db`, torch), the bins inside
    ``(fmin, fmax)``, minus the lower hull (:func:`peak_residue`), clipped to ``[0, clip_db]``
    and divided by its maximum (+1e-6). Silence gives all zeros.

    Parameters
    ----------
    audio : numpy.ndarray
        Mono float signal ``(samples,)`` at ``sr``; more than ``n_fft / 2`` samples (4 s clips
        give 22 frames).
    sr : int
        Sample rate in Hz (the features' bins depend on it; 44.1 kHz in the benchmark).
    n_fft : int
        FFT length in samples (16384: 2.7 Hz bins at 44.1 kHz).
    fmin, fmax : float
        Band kept, in Hz (5-16 kHz: above most musical energy, below MP3/AAC low-pass cut-offs).
    hull_width : int
        Window of the running minimum that finds the hull anchors, in bins.
    floor_db : float
        Lowest hull value in dB.
    clip_db : float
        Peaks are clipped at this height in dB before normalising.

    Returns
    -------
    numpy.ndarray
        float32 vector of ``len(fakeprint_frequencies(...))`` features (4,087 with the defaults).

    Taught in notebook ``06_baselines``.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio of shape (samples,), got {audio.shape}")
    curve_db = mean_power_db(audio, n_fft=n_fft)
    freqs = np.linspace(0.0, sr / 2, 1 + n_fft // 2)
    band = (freqs > fmin) & (freqs < fmax)
    residue = peak_residue(freqs[band], curve_db[band], width=hull_width, floor_db=floor_db)
    residue = np.clip(residue, 0.0, clip_db)
    return (residue / (1e-6 + residue.max())).astype(np.float32)


def fakeprints(audio_list: Sequence[np.ndarray], *, sr: int = SAMPLE_RATE, n_fft: int = N_FFT,
               fmin: float = FMIN, fmax: float = FMAX, hull_width: int = HULL_WIDTH,
               floor_db: float = HULL_FLOOR_DB, clip_db: float = CLIP_DB,
               progress: bool = True) -> np.ndarray:
    """Fakeprints of many clips, ``(n_clips, n_features)`` float32.

    Parameters as in :func:`fakeprint`; ``progress`` shows a tqdm bar. One clip at a time:
    batching the STFT measured no faster on the CPU (about 8 ms per 4 s clip on one core).
    """
    n_features = len(fakeprint_frequencies(sr=sr, n_fft=n_fft, fmin=fmin, fmax=fmax))
    out = np.zeros((len(audio_list), n_features), np.float32)
    for i, audio in enumerate(tqdm(audio_list, desc="fakeprints", disable=not progress)):
        try:
            out[i] = fakeprint(audio, sr=sr, n_fft=n_fft, fmin=fmin, fmax=fmax,
                               hull_width=hull_width, floor_db=floor_db, clip_db=clip_db)
        except ValueError as err:
            raise ValueError(f"clip {i}: {err}") from err
    return out


class FakeprintDetector:
    """Class-balanced logistic regression on standardised fakeprints.

    Fitting uses scikit-learn (``StandardScaler`` + ``LogisticRegression(class_weight=
    "balanced")``); the fitted numbers are then kept as plain arrays, so prediction, saving
    (safetensors + JSON) and loading need neither scikit-learn objects nor pickle.

    Parameters
    ----------
    C : float, optional
        Inverse L2 strength. ``None``: chosen from ``c_grid`` on the validation set given to
        :meth:`fit` (highest ROC-AUC, ties to the lower class-balanced log-loss, then the
        smaller C), or 1.0 without one.
    c_grid : sequence of float
        Candidates for ``C``.
    feature_params : dict, optional
        The :func:`fakeprint` keyword arguments the features were made with (provenance, saved).
    """

    def __init__(self, *, C: float | None = None, c_grid: Sequence[float] = C_GRID,
                 feature_params: dict[str, Any] | None = None):
        self.C = C
        self.c_grid = tuple(float(c) for c in c_grid)
        self.feature_params = dict(feature_params or {})
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.coef_: np.ndarray | None = None
        self.intercept_: float = 0.0
        #: Validation scores per candidate C (rows: C, val_auc, val_logloss), set by fit.
        self.c_scores_: list[dict[str, float]] = []

    @staticmethod
    def _fit_one(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, ...]:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(x)
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        lr.fit(scaler.transform(x), y)
        return scaler.mean_, scaler.scale_, lr.coef_[0], float(lr.intercept_[0])

    def fit(self, features_train: np.ndarray, y_train: np.ndarray,
            features_val: np.ndarray | None = None,
            y_val: np.ndarray | None = None) -> FakeprintDetector:
        """Fit on training fakeprints ``(n, n_features)`` and labels (1 = AI, 0 = real).

        The validation set only chooses ``C``; the final model is fitted on the training set
        alone. Never pass test data here.
        """
        x = np.asarray(features_train, dtype=np.float64)
        y = np.asarray(y_train).astype(int)
        if x.ndim != 2 or len(x) != len(y):
            raise ValueError(f"features {x.shape} and labels {y.shape} do not match")
        if set(np.unique(y)) != {0, 1}:
            raise ValueError("training labels must contain both classes 0 (real) and 1 (AI)")
        c = self.C
        self.c_scores_ = []
        if c is None and features_val is not None and y_val is not None:
            xv = np.asarray(features_val, dtype=np.float64)
            yv = np.asarray(y_val).astype(int)
            best_key = None
            for cand in self.c_grid:
                self._set(*self._fit_one(x, y, cand))
                p = self.predict_proba(xv)
                auc, loss = roc_auc(yv, p), _balanced_logloss(yv, p)
                self.c_scores_.append({"C": cand, "val_auc": auc, "val_logloss": loss})
                key = (-np.nan_to_num(auc, nan=0.0), loss, cand)
                if best_key is None or key < best_key:
                    best_key, c = key, cand
        self.C_ = 1.0 if c is None else float(c)
        self._set(*self._fit_one(x, y, self.C_))
        return self

    def _set(self, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
             intercept: float) -> None:
        self.mean_, self.scale_, self.coef_ = (np.asarray(a, np.float64)
                                               for a in (mean, scale, coef))
        self.intercept_ = float(intercept)

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        """Logits ``w . (x - mean) / scale + b``, one per row of ``features``."""
        if self.coef_ is None:
            raise RuntimeError("FakeprintDetector is not fitted")
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.coef_):
            raise ValueError(f"expected features (n, {len(self.coef_)}), got {x.shape}")
        return ((x - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """P(AI) for each row of ``features``, shape ``(n,)``."""
        return expit(self.decision_function(features))

    @property
    def n_parameters(self) -> int:
        """Learned weights + bias (the scaler's mean and scale are fitted statistics, not
        counted; they double the stored numbers)."""
        return 0 if self.coef_ is None else len(self.coef_) + 1

    def save(self, path: str | Path) -> Path:
        """Write ``path`` as ``.safetensors`` (mean, scale, coef, intercept; float64) and a
        ``.json`` sidecar (C, validation scores, feature parameters). Returns the
        ``.safetensors`` path. Nothing is pickled."""
        if self.coef_ is None:
            raise RuntimeError("FakeprintDetector is not fitted")
        meta = {"model": "fakeprint_logreg", "C": self.C_, "c_grid": list(self.c_grid),
                "c_scores": self.c_scores_, "feature_params": self.feature_params,
                "n_features": len(self.coef_)}
        return save_checkpoint(Path(path).with_suffix(".safetensors"),
                               {"mean": self.mean_, "scale": self.scale_, "coef": self.coef_,
                                "intercept": np.array([self.intercept_])}, meta)

    @classmethod
    def load(cls, path: str | Path) -> FakeprintDetector:
        """Read a detector written by :meth:`save` (safetensors + JSON; nothing unpickled)."""
        arrays, meta = load_checkpoint(Path(path).with_suffix(".safetensors"), numpy=True)
        det = cls(C=meta["C"], c_grid=meta["c_grid"], feature_params=meta["feature_params"])
        det.C_ = float(meta["C"])
        det.c_scores_ = meta["c_scores"]
        det._set(arrays["mean"], arrays["scale"], arrays["coef"], float(arrays["intercept"][0]))
        return det


def _balanced_logloss(y: np.ndarray, p: np.ndarray) -> float:
    # Mean of the two per-class log-losses, so the larger class does not dominate C's choice.
    p = np.clip(p, 1e-12, 1 - 1e-12)
    losses = [-np.log(p[y == 1]).mean() if (y == 1).any() else 0.0,
              -np.log(1 - p[y == 0]).mean() if (y == 0).any() else 0.0]
    return float(np.mean(losses))
