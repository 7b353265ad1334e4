"""Training ArtifactNet's two parts: the residual UNet and the compact CNN.

**The UNet** (the paper does not say how it is trained; DESIGN.md section 3). Both objectives
teach the bounded mask to pick out of ``|X_in|`` the energy that is *not* the human-made music
``|X_ref|``. The target residual is ``T = min(| |X_in| - |X_ref| |, bound * |X_in|)``; the loss
is an L1 distance between ``log1p(R / s)`` and ``log1p(T / s)`` with ``s`` the chunk's RMS
magnitude (so quiet and loud clips count alike). Half of every batch is real music with
``X_ref = X_in`` (target: no residual at all).

- ``"paired"`` (supervised residual regression): ``X_in`` is a regenerated clip ``G(x)`` and
  ``X_ref`` its real original ``x``: the residual is what the generator changed.
- ``"real_only"`` (human music only): ``X_in = x + a`` with ``a`` a synthetic artifact
  (periodic spectral peaks of an up-sampler, zero-insertion images, envelope-following noise)
  and ``X_ref = x``; no generator output is ever seen.

With ``codec_aware``, each item is first passed through a lossy codec (the same one for input and
reference): lossy real music keeps a target of zero, so the codec itself is never "the artifact".
Training uses random (frequency x time) crops; the net is fully convolutional and inference runs
on whole 4 s chunks.

**The classifier** reads cached feature maps (:mod:`artifactnet_core.experiments.featurestore`), with
class-balanced batches and random time crops; the epoch with the best validation ROC-AUC among
the recipe's candidate epochs (``validate_last``) is kept, and the decision threshold is chosen
on validation scores. On a CPU in a single process both loops run their convolutions
channels-last (:func:`use_channels_last`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from artifactnet_core.detector.classifier import CompactCNN
from artifactnet_core.detector.config import SAMPLE_RATE, ArtifactNetConfig
from artifactnet_core.detector.features import ForensicFeaturizer
from artifactnet_core.detector.model import spectrogram
from artifactnet_core.detector.unet import ArtifactUNet
from artifactnet_core.experiments.data import Item, assigned_version
from artifactnet_core.experiments.distributed import (
    average,
    distribute,
    is_main,
    share,
    share_weight,
    undistribute,
    world,
)
from artifactnet_core.experiments.metrics import roc_auc
from artifactnet_core.experiments.recipes import ClassifierRecipe, UNetRecipe
from artifactnet_core.runtime import (
    cosine_schedule,
    resolve_device,
    seed_everything,
    training_autocast,
)


def moving_rms(audio: np.ndarray, *, frame: int) -> np.ndarray:
    """RMS of ``audio`` over a window of ``frame`` samples centred on each sample (as
    ``np.convolve(audio**2, ones(frame) / frame, mode="same")``, zeros beyond the ends), in
    float64, from a running sum: O(n) instead of O(n * frame)."""
    power = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
    n = audio.shape[0]
    i = np.arange(n)
    lo = np.clip(i - frame // 2, 0, n)  # the window numpy's "same" centres on sample i
    hi = np.clip(i - frame // 2 + frame, 0, n)
    return np.sqrt(np.maximum(power[hi] - power[lo], 0.0) / frame)


def synthetic_artifact(audio: np.ndarray, rng: np.random.Generator, *,
                       sr: int = SAMPLE_RATE) -> np.ndarray:
    """An artifact signal of the kinds neural decoders leave, scaled to a random SNR.

    One of: (a) tones at multiples of ``sr / stride`` (the spectral peaks of a stride-``stride``
    up-sampler, following the music's loudness envelope); (b) the images of zero-insertion
    up-sampling (decimate, insert zeros, no anti-imaging filter); (c) noise shaped by the music's
    envelope. SNR 6-30 dB. Used by the ``real_only`` UNet objective.

    Parameters
    ----------
    audio : numpy.ndarray
        Real music, mono float.
    rng : numpy.random.Generator
        Random source (the artifact kind, stride, SNR).
    sr : int
        Sample rate in Hz.
    """
    n = audio.shape[0]
    env = moving_rms(audio, frame=1024)
    kind = rng.integers(0, 3)
    if kind == 0:
        stride = int(rng.choice([8, 16, 32, 64, 128, 256]))
        f0 = sr / stride
        harmonics = np.arange(1, int((sr / 2) // f0) + 1) * f0
        harmonics = harmonics[harmonics < sr / 2 - 100][:64]
        phases = rng.uniform(0, 2 * np.pi, harmonics.size)
        # Multiples of sr / stride repeat every ``stride`` samples: one period, tiled (a 64-tone
        # sum over 4 s took ~0.17 s, most of a real_only UNet's batch; 2026-12-06).
        t = np.arange(stride) / sr
        period = np.zeros(stride)
        for f, p in zip(harmonics, phases, strict=True):
            period += np.sin(2 * np.pi * f * t + p)
        art = np.resize(period, n) * env
    elif kind == 1:
        factor = int(rng.choice([2, 3, 4]))
        low = audio[::factor]
        up = np.zeros(low.shape[0] * factor)
        up[::factor] = low * factor
        art = up[:n] - audio
        # Keep only the images above the decimated band: what a bad up-sampler adds.
        spec = np.fft.rfft(art)
        spec[: int(spec.size / factor)] = 0
        art = np.fft.irfft(spec, n)
    else:
        art = rng.standard_normal(n) * env
    signal_power = float(np.mean(audio.astype(np.float64) ** 2)) + 1e-12
    art_power = float(np.mean(art**2)) + 1e-12
    snr_db = rng.uniform(6.0, 30.0)
    return (art * math.sqrt(signal_power / art_power / 10 ** (snr_db / 10))).astype(np.float32)


def _pair_column(rows: pd.DataFrame) -> str:
    # ArtifactBench-mini stores, for every regeneration, its real clip through the same chain.
    return "reference_path" if "reference_path" in rows.columns else "real_path"


class UNetItems:
    """Draws ``(input, reference)`` audio pairs for UNet training from benchmark rows.

    Parameters
    ----------
    rows : pandas.DataFrame
        Training rows (AI rows pair with ``reference_path``: their real clip through the same
        post-generation chain; ``real_path`` where a manifest has no references).
    arrays : dict
        Decoded clip versions, ``{(path, version): samples}``, holding at least
        :meth:`needed` (see :meth:`artifactnet_core.experiments.data.BenchData.load`).
    recipe : UNetRecipe
        Objective and codec handling.
    chunk_samples : int
        Length of the audio drawn per item.
    sr : int
        Sample rate in Hz (of the synthetic artifacts).
    """

    def __init__(self, rows: pd.DataFrame, arrays: dict[Item, np.ndarray], recipe: UNetRecipe,
                 *, chunk_samples: int, sr: int = SAMPLE_RATE):
        self.arrays = arrays
        self.recipe = recipe
        self.chunk = chunk_samples
        self.sr = sr
        self.real = rows[rows["label"] == "real"][["path", "clip_id"]].to_numpy().tolist()
        self.pairs = rows[rows["label"] == "ai"][["path", _pair_column(rows),
                                                  "clip_id"]].to_numpy()
        self.pairs = self.pairs.tolist()
        if not self.real:
            raise ValueError("no real training clips")
        if recipe.objective == "paired" and not self.pairs:
            raise ValueError("the paired objective needs AI training clips")

    @staticmethod
    def needed(rows: pd.DataFrame, recipe: UNetRecipe) -> list[Item]:
        """The clip versions :meth:`draw` may ask for."""
        versions = {c: ["wav"] + ([assigned_version(c, seed=recipe.seed)]
                                  if recipe.codec_aware else [])
                    for c in rows["clip_id"]}
        items: list[Item] = []
        for path, real_path, label, clip_id in rows[["path", _pair_column(rows), "label",
                                                     "clip_id"]].itertuples(index=False):
            if label == "real" or recipe.objective == "paired":
                paths = (path,) if label == "real" else (path, real_path)
                items += [(p, v) for p in paths for v in versions[clip_id]]
        return list(dict.fromkeys(items))

    def _version(self, clip_id: str, rng: np.random.Generator) -> str:
        if self.recipe.codec_aware and rng.random() < 0.5:
            return assigned_version(clip_id, seed=self.recipe.seed)
        return "wav"

    def _window(self, *signals: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        n = min(s.shape[0] for s in signals)
        start = int(rng.integers(0, n - self.chunk + 1)) if n > self.chunk else 0
        out = []
        for s in signals:
            w = s[start:start + self.chunk]
            out.append(np.pad(w, (0, self.chunk - w.shape[0])) if w.shape[0] < self.chunk else w)
        return out

    def draw(self, rng: np.random.Generator, *, positive: bool) -> tuple[np.ndarray, np.ndarray]:
        """One item: an artifact-bearing pair when ``positive``, else real music twice."""
        if not positive or self.recipe.objective == "real_only":
            path, clip_id = self.real[rng.integers(len(self.real))]
            x, = self._window(self.arrays[(path, self._version(clip_id, rng))], rng=rng)
            if not positive:
                return x, x
            return x + synthetic_artifact(x, rng, sr=self.sr), x
        ai_path, real_path, clip_id = self.pairs[rng.integers(len(self.pairs))]
        version = self._version(clip_id, rng)
        g, x = self._window(self.arrays[(ai_path, version)], self.arrays[(real_path, version)],
                            rng=rng)
        return g, x


def residual_target(mag_in: torch.Tensor, mag_ref: torch.Tensor, *,
                    mask_bound: float | None) -> torch.Tensor:
    """The UNet's target ``min(| |X_in| - |X_ref| |, bound * |X_in|)`` (no cap if unbounded)."""
    target = (mag_in - mag_ref).abs()
    return target if mask_bound is None else torch.minimum(target, mask_bound * mag_in)


def residual_loss(residual: torch.Tensor, target: torch.Tensor,
                  scale: torch.Tensor) -> torch.Tensor:
    """L1 distance of log-compressed, loudness-normalised residuals."""
    return F.l1_loss(torch.log1p(residual / (scale + 1e-8)), torch.log1p(target / (scale + 1e-8)))


def _crop(rng: np.random.Generator, shape: tuple[int, int], bins: int, frames: int
          ) -> tuple[slice, slice]:
    f0 = int(rng.integers(0, max(shape[0] - bins, 0) + 1))
    t0 = int(rng.integers(0, max(shape[1] - frames, 0) + 1))
    return slice(f0, f0 + bins), slice(t0, t0 + frames)


def use_channels_last(device: torch.device, channels_last: bool | None = None) -> bool:
    """Whether a training loop runs its convolutions channels-last: ``channels_last`` when
    given, else on a CPU in a single process. oneDNN's training step then runs ~1.25x (UNet)
    and ~1.6x (compact CNN) faster on this project's 2-core CPU (benchmarks/README.md). Not
    under DDP: its test holds two ranks to one process's rounding, which the channels-last
    kernels, summing a split batch in another order, do not keep as closely."""
    if channels_last is not None:
        return channels_last
    return device.type == "cpu" and world()[1] == 1


def train_unet(train_rows: pd.DataFrame, val_rows: pd.DataFrame, arrays: dict[Item, np.ndarray],
               recipe: UNetRecipe, *, config: ArtifactNetConfig,
               device: str | torch.device | None = None, progress: bool = True,
               val_every: int = 50, channels_last: bool | None = None
               ) -> tuple[ArtifactUNet, pd.DataFrame]:
    """Train an ArtifactUNet following ``recipe`` and return it with its loss history.

    Parameters
    ----------
    train_rows, val_rows : pandas.DataFrame
        Manifest rows to train on and to validate on.
    arrays : dict
        Decoded clip versions holding :meth:`UNetItems.needed` of both row sets (validation
        uses WAV only).
    recipe : UNetRecipe
        Objective, bound, width, budget, codec handling, seed, and ``val_items``: validation
        items (half artifact-bearing) scored on whole chunks every ``val_every`` steps, drawn
        once with a fixed seed from the validation rows, through the detector's inference path
        (:meth:`ArtifactUNet.infer`; it does not touch the weights or the random stream).
    config : ArtifactNetConfig
        The detector's front end (sample rate, STFT, chunk length) the UNet will serve.
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``None`` (auto). The forward passes run in bfloat16 autocast
        where bfloat16 is fast (a recent GPU, an x86 CPU with AMX), in float32
        elsewhere (:func:`~artifactnet_core.runtime.training_autocast`).
    progress : bool
        tqdm progress bar.
    channels_last : bool, optional
        Train with channels-last weights (default: :func:`use_channels_last`); other rounding,
        same recipe.

    Returns
    -------
    (unet, history)
        The trained net (eval mode, on CPU) and a DataFrame with ``step, train_loss, val_loss``.
    """
    dev = resolve_device(device)
    seed_everything(recipe.seed)
    chunk = config.chunk_samples
    items = UNetItems(train_rows, arrays, recipe, chunk_samples=chunk, sr=config.sample_rate)
    val_source = UNetItems(val_rows, arrays, dataclasses.replace(recipe, codec_aware=False),
                           chunk_samples=chunk, sr=config.sample_rate)
    val_rng = np.random.default_rng(recipe.seed + 1)
    val_batch = [val_source.draw(val_rng, positive=i % 2 == 0) for i in range(recipe.val_items)]
    unet = ArtifactUNet(base_width=recipe.base_width, multipliers=config.unet_multipliers,
                        mask_bound=recipe.mask_bound).to(dev)
    if use_channels_last(dev, channels_last):
        unet = unet.to(memory_format=torch.channels_last)  # returned contiguous, as saved
    net = distribute(unet)  # under torchrun: DDP over every rank's share of each batch
    opt = torch.optim.AdamW(unet.parameters(), lr=recipe.lr, weight_decay=1e-4)
    rng = np.random.default_rng(recipe.seed)

    def stacked(pairs: list[tuple[np.ndarray, np.ndarray]], which: int) -> torch.Tensor:
        # which: 0 the input chunks, 1 their references
        return torch.from_numpy(np.stack([p[which] for p in pairs])).to(dev)

    def val_loss() -> float:
        unet.eval()
        losses = []
        with torch.no_grad():
            for i in range(0, len(val_batch), 4):
                part = val_batch[i:i + 4]
                m_in = spectrogram(stacked(part, 0), config)
                m_ref = spectrogram(stacked(part, 1), config)
                target = residual_target(m_in, m_ref, mask_bound=recipe.mask_bound)
                # The detector's own inference path (folded, channels-last): what feature
                # extraction will see, and ~2.5x faster than the training forward on a CPU.
                residual = unet.infer(m_in)
                losses.append(float(residual_loss(residual, target,
                                                  ArtifactUNet.chunk_scale(m_in))))
        unet.train()
        return float(np.mean(losses))

    history = []
    unet.train()
    bar = tqdm(range(recipe.steps), desc=f"UNet ({recipe.objective})",
               disable=not progress or not is_main())
    for step in bar:
        # Every rank draws the whole batch (the same random stream) and trains on its share.
        batch = [items.draw(rng, positive=i % 2 == 0) for i in range(recipe.batch_size)]
        mine = batch[share(len(batch))]
        m_in = spectrogram(stacked(mine, 0), config)
        scale = ArtifactUNet.chunk_scale(m_in)  # of the whole chunk, so needs all of m_in
        fs, ts = _crop(rng, tuple(m_in.shape[-2:]), recipe.crop_bins, recipe.crop_frames)
        m_in = m_in[:, fs, ts]
        # The reference only on the crop's frames: the same values from a fifth of the
        # samples, about a tenth of a width-16 step on one thread (training_loops.py, 5).
        m_ref = spectrogram(stacked(mine, 1), config, frames=ts)[:, fs]
        target = residual_target(m_in, m_ref, mask_bound=recipe.mask_bound)
        for group in opt.param_groups:
            group["lr"] = cosine_schedule(step, total=recipe.steps, warmup=20, peak=recipe.lr)
        with training_autocast(dev):
            residual = net(m_in, scale).float()
        loss = residual_loss(residual, target, scale)
        loss = loss * share_weight(len(mine), len(batch))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        row = {"step": step + 1, "train_loss": average(loss.item()), "val_loss": np.nan}
        if (step + 1) % val_every == 0 or step + 1 == recipe.steps:
            row["val_loss"] = val_loss()
            bar.set_postfix(val=f"{row['val_loss']:.4f}")
        history.append(row)
    return (undistribute(net).cpu().to(memory_format=torch.contiguous_format).eval(),
            pd.DataFrame(history))


def _balanced_batches(labels: np.ndarray, batch_size: int, n_batches: int,
                      rng: np.random.Generator) -> list[np.ndarray]:
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    half = batch_size // 2
    return [np.concatenate([rng.choice(pos, half), rng.choice(neg, batch_size - half)])
            for _ in range(n_batches)]


def predict_maps(classify_base: Callable[[torch.Tensor], torch.Tensor], maps: np.ndarray, *,
                 device: torch.device, batch_size: int | None = None) -> np.ndarray:
    """P(AI) of each chunk's base maps ``(n, 3, n_mels, frames)`` (no grad).

    ``classify_base`` maps base maps to logits: :meth:`ArtifactNet.classify_base
    <artifactnet_core.detector.model.ArtifactNet.classify_base>` of a model in eval mode (or the
    same for a classifier being trained, see :func:`train_classifier`). ``batch_size`` chunks
    per forward pass; default 16 on the CPU (the first convolution's output of 64 full 4 s
    chunks alone is ~0.35 GB, too much beside a notebook on a 2 GB Binder) and 64 on a GPU.
    """
    device = torch.device(device)
    if batch_size is None:
        batch_size = 16 if device.type == "cpu" else 64
    out = []
    with torch.no_grad():
        for i in range(0, maps.shape[0], batch_size):
            base = torch.from_numpy(maps[i:i + batch_size].astype(np.float32)).to(device)
            out.append(torch.sigmoid(classify_base(base)).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)


def train_classifier(train_maps: np.ndarray, train_labels: np.ndarray, val_maps: np.ndarray,
                     val_labels: np.ndarray, recipe: ClassifierRecipe, *,
                     featurizer: ForensicFeaturizer, config: ArtifactNetConfig,
                     device: str | torch.device | None = None,
                     progress: bool = True,
                     val_reduce: Callable[[np.ndarray], np.ndarray] | None = None,
                     channels_last: bool | None = None) -> tuple[CompactCNN, pd.DataFrame]:
    """Train the compact CNN on cached base maps; keep the epoch with the best validation AUC
    among the last ``recipe.validate_last`` (all when ``None``).

    Parameters
    ----------
    train_maps, val_maps : numpy.ndarray
        Base maps ``(n, 3, n_mels, frames)`` (float16 or float32), one row per chunk.
    train_labels, val_labels : numpy.ndarray
        1 for AI, 0 for real, per chunk (``val_labels`` per clip when ``val_reduce`` is given).
    recipe : ClassifierRecipe
        Budget, crops, seed.
    featurizer : ForensicFeaturizer
        Turns base maps into the feature set's channels.
    config : ArtifactNetConfig
        The classifier's architecture (``cnn_widths``, ``cnn_hidden``).
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``None`` (auto); training forward passes as in
        :func:`train_unet` (bfloat16 autocast where bfloat16 is fast).
    val_reduce : callable, optional
        Maps chunk probabilities to clip probabilities (e.g. a median per clip), so validation
        AUC is measured per clip as the evaluation will be.
    channels_last : bool, optional
        Feed the CNN channels-last feature maps in training and validation (default:
        :func:`use_channels_last`); other rounding, same recipe.

    Returns
    -------
    (classifier, history)
        The best classifier (eval mode, CPU) and a DataFrame with ``epoch, train_loss,
        val_loss, val_auc`` (validation NaN for the epochs before ``recipe.validate_last``).
    """
    dev = resolve_device(device)
    seed_everything(recipe.seed)
    featurizer = featurizer.to(dev)
    classifier = CompactCNN(in_channels=featurizer.n_channels, widths=config.cnn_widths,
                            hidden=config.cnn_hidden).to(dev)
    net = distribute(classifier)  # under torchrun: DDP over every rank's share of each batch

    layout = torch.channels_last if use_channels_last(dev, channels_last) else (
        torch.contiguous_format)

    def classify_base(base: torch.Tensor) -> torch.Tensor:
        return classifier(featurizer.channels_from_base(base).contiguous(memory_format=layout))

    opt = torch.optim.AdamW(classifier.parameters(), lr=recipe.lr,
                            weight_decay=recipe.weight_decay)
    rng = np.random.default_rng(recipe.seed)
    train_labels = np.asarray(train_labels).astype(int)
    n_batches = max(1, math.ceil(len(train_labels) / recipe.batch_size))
    total = n_batches * recipe.epochs
    history, best_auc, best_state = [], -1.0, None
    step = 0
    bar = tqdm(range(recipe.epochs), desc="classifier", disable=not progress or not is_main())
    for epoch in bar:
        classifier.train()
        losses = []
        for idx in _balanced_batches(train_labels, recipe.batch_size, n_batches, rng):
            mine = np.sort(idx)[share(len(idx))]  # this rank's share of the global batch
            y = torch.from_numpy(train_labels[mine].astype(np.float32)).to(dev)
            frames = train_maps.shape[-1]
            crop = min(recipe.crop_frames, frames)
            t0 = int(rng.integers(0, frames - crop + 1)) if crop < frames else 0
            # Only the crop's frames (and the context its deltas read) are converted and
            # featurized: the same channels as cropping all of them, bit for bit.
            lo, hi = featurizer.context(t0, crop, frames)
            base = torch.from_numpy(train_maps[mine, ..., lo:hi].astype(np.float32)).to(dev)
            feats = featurizer.channels_from_base(base)[..., t0 - lo:t0 - lo + crop
                                                        ].contiguous(memory_format=layout)
            for group in opt.param_groups:
                group["lr"] = cosine_schedule(step, total=total, warmup=min(20, total // 10 + 1),
                                              peak=recipe.lr)
            with training_autocast(dev):
                logits = net(feats).float()
            loss = F.binary_cross_entropy_with_logits(logits, y)
            loss = loss * share_weight(len(mine), len(idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(average(loss.item()))
            step += 1
        row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)),
               "val_loss": np.nan, "val_auc": np.nan}
        history.append(row)
        if not recipe.validates(epoch):
            continue  # not a candidate epoch: its validation would change nothing kept
        classifier.eval()
        p_val = predict_maps(classify_base, val_maps, device=dev)
        if val_reduce is not None:
            p_val = val_reduce(p_val)
        y_val = np.asarray(val_labels).astype(int)
        eps = 1e-6
        row["val_loss"] = float(-np.mean(y_val * np.log(p_val + eps)
                                         + (1 - y_val) * np.log(1 - p_val + eps)))
        auc = row["val_auc"] = roc_auc(y_val, p_val)
        bar.set_postfix(val_auc=f"{auc:.4f}")
        # Ties go to the later epoch (more training, same validation evidence).
        if np.isfinite(auc) and auc >= best_auc:
            best_auc = auc
            best_state = {k: v.detach().clone() for k, v in classifier.state_dict().items()}
    undistribute(net)
    if best_state is not None:
        classifier.load_state_dict(best_state)
    return classifier.cpu().eval(), pd.DataFrame(history)
