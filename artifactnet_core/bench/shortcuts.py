"""The shortcut probe: can a classifier that knows nothing of decoder physics win the benchmark?

Every clip is summarised by descriptors with no decoder physics in them (:func:`descriptors`):
31 third-octave band levels relative to the clip's power, effective bandwidth, spectral roll-off
at 85/95/99 % of the energy, spectral flatness, RMS level, crest factor, DC offset and
zero-crossing rate. A standardised logistic regression trained on them (zero-shot train split,
the same clips the detector trains on) and scored on the zero-shot test split measures how much
of the benchmark trivial cues can explain; so does each descriptor alone. A benchmark on which
the probe scores well measures something other than residual physics, so its numbers are
reported beside every headline number of the detector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from artifactnet_core.atomic import atomic_write_text
from artifactnet_core.detector.audio import load_audio
from artifactnet_core.detector.config import SAMPLE_RATE

#: Centre frequencies of the 31 third-octave bands (ISO 266 nominal, 20 Hz to 20 kHz).
THIRD_OCTAVES = (20, 25, 31.5, 40, 50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 800,
                 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300, 8000, 10000, 12500, 16000,
                 20000)
_N_FFT = 4096
_FLOOR_DB = -120.0


def _band_names() -> list[str]:
    return [f"band_{f:g}Hz" for f in THIRD_OCTAVES]


def band_powers(power: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Power in each band of :data:`THIRD_OCTAVES` (edges a sixth of an octave either side of
    the centre) of a power spectrum over the bin frequencies ``freqs`` (Hz)."""
    return np.array([float(power[(freqs >= c / 2 ** (1 / 6)) & (freqs < c * 2 ** (1 / 6))].sum())
                     for c in THIRD_OCTAVES])


def third_octave_powers(audio: np.ndarray, *, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Power of ``audio``'s long-term spectrum (:func:`long_term_spectrum`) in each band of
    :data:`THIRD_OCTAVES`; ``sr`` in Hz."""
    return band_powers(long_term_spectrum(audio), np.fft.rfftfreq(_N_FFT, 1.0 / sr))


#: Descriptor names, in the order :func:`descriptors` returns them.
DESCRIPTORS = (*_band_names(), "bandwidth_hz", "rolloff85_hz", "rolloff95_hz", "rolloff99_hz",
               "flatness", "rms_db", "crest_db", "dc", "zcr")


def long_term_spectrum(audio: np.ndarray) -> np.ndarray:
    """Mean power spectrum over Hann-windowed frames of :data:`_N_FFT` (hop half a frame); its
    bins are ``numpy.fft.rfftfreq(_N_FFT, 1 / sr)``."""
    x = np.asarray(audio, dtype=np.float64)
    if len(x) < _N_FFT:
        x = np.pad(x, (0, _N_FFT - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, _N_FFT)[:: _N_FFT // 2]
    spec = np.abs(np.fft.rfft(frames * np.hanning(_N_FFT), axis=-1)) ** 2
    return spec.mean(axis=0)


def descriptors(audio: np.ndarray, *, sr: int = SAMPLE_RATE) -> dict[str, float]:
    """Physics-free descriptors of one clip (see the module docstring), keyed by
    :data:`DESCRIPTORS`.

    Band levels and flatness are computed after removing the clip's mean (the mean is the
    ``dc`` descriptor). ``bandwidth_hz`` is the highest frequency whose level (smoothed over
    about 100 Hz) is within 60 dB of the spectrum's peak; roll-offs are the frequencies below
    which 85, 95 and 99 % of the power lies.

    Parameters
    ----------
    audio : numpy.ndarray
        Mono signal.
    sr : int
        Sample rate in Hz.
    """
    x = np.asarray(audio, dtype=np.float64)
    dc = float(x.mean()) if len(x) else 0.0
    x = x - dc
    power = long_term_spectrum(x)
    freqs = np.fft.rfftfreq(_N_FFT, 1.0 / sr)
    total = float(power.sum()) + 1e-30
    out: dict[str, float] = {}
    for name, band in zip(_band_names(), band_powers(power, freqs), strict=True):
        out[name] = max(10 * math.log10(band / total + 1e-30), _FLOOR_DB)
    smooth = np.convolve(power, np.ones(9) / 9, mode="same")
    level = 10 * np.log10(smooth + 1e-30)
    above = np.flatnonzero(level >= level.max() - 60.0)
    out["bandwidth_hz"] = float(freqs[above[-1]]) if above.size else 0.0
    cumulative = np.cumsum(power) / total
    for share in (85, 95, 99):
        out[f"rolloff{share}_hz"] = float(freqs[min(np.searchsorted(cumulative, share / 100),
                                                     len(freqs) - 1)])
    positive = power[1:] + 1e-30
    out["flatness"] = float(np.exp(np.mean(np.log(positive))) / np.mean(positive))
    rms = float(np.sqrt(np.mean(x**2))) if len(x) else 0.0
    out["rms_db"] = 20 * math.log10(max(rms, 1e-10))
    out["crest_db"] = 20 * math.log10(max(float(np.max(np.abs(x))) if len(x) else 0.0, 1e-10)
                                      / max(rms, 1e-10))
    out["dc"] = dc
    out["zcr"] = float(np.mean(np.abs(np.diff(np.signbit(x).astype(np.int8))))) if len(x) > 1 \
        else 0.0
    return out


def describe_bench(root: Path, df: pd.DataFrame, *, progress: bool = True) -> pd.DataFrame:
    """Descriptors of every clip of a manifest: ``path`` plus one column per descriptor."""
    rows = []
    for path in tqdm(df["path"], desc="descriptors", unit="clip", disable=not progress):
        rows.append({"path": path, **descriptors(load_audio(Path(root) / path))})
    return pd.DataFrame(rows, columns=["path", *DESCRIPTORS])


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from scipy.stats import rankdata

    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fit_probe(train: pd.DataFrame, *, columns: Sequence[str] = DESCRIPTORS, c: float = 1.0):
    """A standardised logistic regression on descriptor ``columns`` of labelled ``train`` rows
    (``label`` ``ai``/``real``); returns the fitted scikit-learn pipeline."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = (train["label"] == "ai").to_numpy().astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000,
                                                               class_weight="balanced"))
    return model.fit(train[list(columns)].to_numpy(), y)


def probe_scores(model, rows: pd.DataFrame, *, columns: Sequence[str] = DESCRIPTORS) -> np.ndarray:
    """P(AI) of the probe for each row."""
    return model.predict_proba(rows[list(columns)].to_numpy())[:, 1]


def single_descriptor_aucs(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Test ROC-AUC of each descriptor alone, its direction (which way means AI) taken from the
    training split, and ``separability`` = max(AUC, 1 - AUC) of the test AUC itself (how far the
    descriptor separates the classes either way)."""
    y_tr = (train["label"] == "ai").to_numpy().astype(int)
    y_te = (test["label"] == "ai").to_numpy().astype(int)
    rows = []
    for name in DESCRIPTORS:
        direction = 1.0 if _auc(y_tr, train[name].to_numpy()) >= 0.5 else -1.0
        auc = _auc(y_te, direction * test[name].to_numpy())
        rows.append({"descriptor": name, "test_auc": auc,
                     "separability": max(auc, 1 - auc) if np.isfinite(auc) else float("nan")})
    return pd.DataFrame(rows).sort_values("separability", ascending=False, ignore_index=True)


def zero_shot_sets(df: pd.DataFrame, *, exclude_families: Sequence[str] = ()
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The probe's train rows (zero-shot train split, without ``exclude_families``) and its test
    rows (every real test clip and the AI test clips of held-out families)."""
    train = df[(df["split"] == "train")
               & ~((df["label"] == "ai") & df["family"].isin(list(exclude_families)))]
    held = df["heldout"].str.contains("family")
    test = df[(df["split"] == "test") & ((df["label"] == "real") | held)]
    return train, test


def write_shortcut_probe(root: Path, df: pd.DataFrame, *, exclude_families: Sequence[str] = (),
                         progress: bool = True) -> pd.DataFrame:
    """Describe every clip (``descriptors.csv``) and score the probe on the zero-shot test
    (``shortcut_probe.csv``: the probe's test ROC-AUC, then each descriptor's); returns the
    probe table. Cached: the descriptors are computed once per build."""
    root = Path(root)
    desc_path = root / "descriptors.csv"
    if desc_path.exists():
        desc = pd.read_csv(desc_path)
    else:
        desc = describe_bench(root, df, progress=progress)
        atomic_write_text(desc_path, desc.to_csv(index=False, lineterminator="\n"))
    table = df.merge(desc, on="path", how="left")
    train, test = zero_shot_sets(table, exclude_families=exclude_families)
    rows = [{"descriptor": "probe (all, logistic regression)", "test_auc": float("nan"),
             "separability": float("nan")}]
    if train["label"].nunique() == 2 and test["label"].nunique() == 2:
        model = fit_probe(train)
        auc = _auc((test["label"] == "ai").to_numpy().astype(int), probe_scores(model, test))
        rows[0].update(test_auc=auc, separability=max(auc, 1 - auc))
        singles = single_descriptor_aucs(train, test)
    else:
        singles = pd.DataFrame(columns=["descriptor", "test_auc", "separability"])
    out = pd.concat([pd.DataFrame(rows), singles], ignore_index=True)
    out["n_train"] = len(train)
    out["n_test"] = len(test)
    atomic_write_text(root / "shortcut_probe.csv", out.to_csv(index=False, lineterminator="\n"))
    return out
