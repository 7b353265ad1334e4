"""SpecTTTra-α: a spectro-temporal tokenised transformer over a 16 kHz mel spectrogram.

Rahman et al. ("SONICS: Synthetic or not -- identifying counterfeit songs", ICLR 2025) cut the
mel spectrogram two ways: into *temporal* clips of ``t_clip`` frames across all mel bands and
*spectral* clips of ``f_clip`` bands across all frames. A strided 1-D convolution turns each clip
into one token (GELU, learned positional embedding, LayerNorm), the two token streams are
concatenated and read by a pre-norm ViT-style transformer; the mean token goes to one logit.
The α variant uses the finest clips (t_clip 3, f_clip 1), embed 384, 12 layers, 6 heads and an
MLP ratio of 2.67. With 4 s of 16 kHz audio (126 frames) that is 42 + 128 = 170 tokens and
16.8M parameters (the original, on 5 s and 120 s clips: 17-19M).

Implemented from the paper's description and checked against the layer shapes of public
SONICS checkpoints (bias-free tokenizer convolutions and QKV projection, no final LayerNorm).
Differences from the SONICS code, all deliberate: the dB mel is normalised with one mean and
standard deviation measured on the training set (stored in the checkpoint; SONICS normalises
each clip by its own statistics, ``normalization="instance"`` reproduces that); the spectrogram
keeps its native frame count instead of being resized; and the mel filterbank is the package's
Slaney-scale, area-normalised one (:func:`artifactnet_core.detector.spectral.mel_filterbank`, as librosa)
where SONICS uses torchaudio's default HTK scale without normalisation -- band edges move a
little, the STFT (centred, reflect-padded Hann) and dB conversion are the same.

The model takes the *unnormalised* dB mel ``(batch, n_mels, frames)`` made by
:func:`spectttra_inputs` and normalises it itself, so the statistics cannot be forgotten;
compute the inputs once and reuse them across epochs.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soxr
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from artifactnet_core.checkpoint import load_checkpoint, save_checkpoint
from artifactnet_core.detector.config import SAMPLE_RATE
from artifactnet_core.detector.spectral import mel_filterbank, mel_power, power_to_db, stft
from artifactnet_core.experiments.metrics import roc_auc
from artifactnet_core.runtime import cosine_schedule, training_autocast

AudioBatch = Sequence[np.ndarray] | torch.Tensor


@dataclass(frozen=True)
class SpecTTTraConfig:
    """Everything that defines a SpecTTTra model (stored as JSON beside the weights).

    Front end: ``sample_rate`` (Hz), ``clip_seconds`` (s), ``n_fft`` / ``hop_length``
    (samples), ``n_mels`` bands between ``fmin`` and ``fmax`` (Hz), dB floored ``top_db``
    below each clip's maximum, ``normalization`` "dataset" (training-set mean/std) or
    "instance" (each clip's own). Tokens: ``t_clip`` frames per temporal token, ``f_clip``
    bands per spectral token. Transformer: ``embed_dim``, ``depth`` blocks, ``heads``,
    ``mlp_ratio``, ``token_dropout`` after tokenisation, ``attn_dropout``.

    Defaults are SpecTTTra-α on 4 s clips; see :meth:`reduced` and :meth:`tiny`.
    """

    sample_rate: int = 16_000
    clip_seconds: float = 4.0
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    fmin: float = 20.0
    fmax: float = 8000.0
    top_db: float = 80.0
    normalization: str = "dataset"
    t_clip: int = 3
    f_clip: int = 1
    embed_dim: int = 384
    depth: int = 12
    heads: int = 6
    mlp_ratio: float = 2.67
    token_dropout: float = 0.1
    attn_dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.embed_dim % self.heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by heads {self.heads}")
        if self.normalization not in ("dataset", "instance"):
            raise ValueError(f"normalization must be 'dataset' or 'instance', "
                             f"got {self.normalization!r}")
        if self.n_temporal_tokens < 1 or self.n_spectral_tokens < 1:
            raise ValueError("clips longer than the spectrogram: no tokens")

    @property
    def n_samples(self) -> int:
        """Input length in samples at ``sample_rate``."""
        return int(round(self.clip_seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """Mel frames per clip (centred STFT)."""
        return 1 + self.n_samples // self.hop_length

    @property
    def n_temporal_tokens(self) -> int:
        return self.n_frames // self.t_clip

    @property
    def n_spectral_tokens(self) -> int:
        return self.n_mels // self.f_clip

    @property
    def n_tokens(self) -> int:
        return self.n_temporal_tokens + self.n_spectral_tokens

    @classmethod
    def reduced(cls, **overrides: Any) -> SpecTTTraConfig:
        """Smaller width and depth for CPU (smoke / laptop profiles): embed 192, 6 layers,
        3 heads, same tokenisation and front end (≈2.3M parameters at 4 s)."""
        return cls(**{"embed_dim": 192, "depth": 6, "heads": 3, **overrides})

    @classmethod
    def tiny(cls, **overrides: Any) -> SpecTTTraConfig:
        """A toy size for unit tests: embed 32, 2 layers, 2 heads."""
        return cls(**{"embed_dim": 32, "depth": 2, "heads": 2, **overrides})

    @classmethod
    def of_size(cls, size: str) -> SpecTTTraConfig:
        """The config of a named size: ``"full"`` (SpecTTTra-α), ``"reduced"`` or ``"tiny"``."""
        sizes = {"full": cls, "reduced": cls.reduced, "tiny": cls.tiny}
        if size not in sizes:
            raise ValueError(f"unknown SpecTTTra size {size!r}; one of {sorted(sizes)}")
        return sizes[size]()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpecTTTraConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown SpecTTTra config keys {sorted(unknown)}")
        return cls(**data)


# ---------------------------------------------------------------------------------------------
# Front end: 44.1 kHz audio -> 16 kHz -> dB mel
# ---------------------------------------------------------------------------------------------

def spectttra_inputs(audio_list: Sequence[np.ndarray], config: SpecTTTraConfig, *,
                     sr: int = SAMPLE_RATE, batch_size: int = 64,
                     progress: bool = False) -> torch.Tensor:
    """The model's input: dB mel spectrograms of 44.1 kHz clips, ``(n, n_mels, n_frames)``.

    Each clip is resampled to ``config.sample_rate`` with soxr, cut to its first
    ``config.clip_seconds`` (zero-padded if shorter), turned into a power mel spectrogram
    (centred, reflect-padded Hann STFT, Slaney mel, in torch) and converted to dB with ref 1.0, floored
    ``config.top_db`` below the clip's maximum (as torchaudio's ``AmplitudeToDB`` in SONICS).
    Normalisation happens inside the model.

    Parameters
    ----------
    audio_list : sequence of numpy.ndarray
        Mono float clips at ``sr``.
    config : SpecTTTraConfig
        Front-end parameters.
    sr : int
        Sample rate of ``audio_list`` in Hz.
    batch_size : int
        Clips per STFT call.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    torch.Tensor
        float32 on the CPU.
    """
    fb = mel_filterbank(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels,
                        fmin=config.fmin, fmax=config.fmax)
    out = torch.empty(len(audio_list), config.n_mels, config.n_frames)
    for start in tqdm(range(0, len(audio_list), batch_size), desc="SpecTTTra inputs",
                      disable=not progress):
        batch = np.zeros((min(batch_size, len(audio_list) - start), config.n_samples), np.float32)
        for i, audio in enumerate(audio_list[start:start + batch_size]):
            audio = np.asarray(audio, dtype=np.float32)
            if audio.ndim != 1:
                raise ValueError(f"clip {start + i}: expected mono audio, got {audio.shape}")
            if not np.isfinite(audio).all():
                raise ValueError(f"clip {start + i}: NaN or infinite samples")
            y = soxr.resample(audio, sr, config.sample_rate) if sr != config.sample_rate else audio
            y = y[: config.n_samples]
            batch[i, : len(y)] = y
        spec = stft(torch.from_numpy(batch), n_fft=config.n_fft, hop_length=config.hop_length)
        db = power_to_db(mel_power(spec.abs(), fb), top_db=None)
        floor = db.amax(dim=(-2, -1), keepdim=True) - config.top_db
        out[start:start + len(batch)] = torch.maximum(db, floor)
    return out


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------

class Tokenizer1D(nn.Module):
    """Non-overlapping clips of ``clip`` steps -> tokens: strided Conv1d (no bias), GELU,
    learned positional embedding, LayerNorm. Input ``(B, channels, length)``, output
    ``(B, n_tokens, embed_dim)``."""

    def __init__(self, channels: int, embed_dim: int, clip: int, n_tokens: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, embed_dim, clip, stride=clip, bias=False)
        self.pos = nn.Parameter(torch.zeros(1, n_tokens, embed_dim))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.n_tokens = n_tokens

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Frames beyond the last whole clip are dropped (conv with stride = kernel does that).
        tokens = F.gelu(self.conv(x)).transpose(1, 2)
        return self.norm(tokens + self.pos)


class SpectroTemporalTokenizer(nn.Module):
    """Temporal tokens (``t_clip`` frames x all bands) followed by spectral tokens
    (``f_clip`` bands x all frames): ``(B, n_mels, frames) -> (B, n_tokens, embed_dim)``."""

    def __init__(self, config: SpecTTTraConfig):
        super().__init__()
        c = config
        self.temporal = Tokenizer1D(c.n_mels, c.embed_dim, c.t_clip, c.n_temporal_tokens)
        self.spectral = Tokenizer1D(c.n_frames, c.embed_dim, c.f_clip, c.n_spectral_tokens)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.temporal(mel), self.spectral(mel.transpose(1, 2))], dim=1)


class Attention(nn.Module):
    """Multi-head self-attention (QKV projection without bias, as the SONICS checkpoints)."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(LN(x))`` then ``x + MLP(LN(x))``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, attn_dropout: float):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, attn_dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SpecTTTra(nn.Module):
    """SpecTTTra classifier: dB mel ``(B, n_mels, n_frames)`` -> logits ``(B,)`` (P(AI) after a
    sigmoid).

    Buffers ``norm_mean`` / ``norm_std`` hold the training-set statistics (set by
    :func:`train_spectttra`, saved with the weights). Taught in notebook ``06_baselines``.
    """

    def __init__(self, config: SpecTTTraConfig):
        super().__init__()
        self.config = config
        self.register_buffer("norm_mean", torch.zeros(()))
        self.register_buffer("norm_std", torch.ones(()))
        self.tokenizer = SpectroTemporalTokenizer(config)
        self.token_dropout = nn.Dropout(config.token_dropout)
        self.blocks = nn.ModuleList(Block(config.embed_dim, config.heads, config.mlp_ratio,
                                          config.attn_dropout) for _ in range(config.depth))
        self.head = nn.Linear(config.embed_dim, 1)
        self.apply(_init_weights)

    def normalize(self, mel_db: torch.Tensor) -> torch.Tensor:
        """Standardise dB mel input with the stored (or per-clip) mean and std."""
        if self.config.normalization == "instance":
            mean = mel_db.mean(dim=(-2, -1), keepdim=True)
            std = mel_db.std(dim=(-2, -1), keepdim=True)
            return (mel_db - mean) / (std + 1e-6)
        return (mel_db - self.norm_mean) / (self.norm_std + 1e-6)

    def embed(self, mel_db: torch.Tensor) -> torch.Tensor:
        """Mean-pooled token embedding ``(B, embed_dim)``."""
        expected = (self.config.n_mels, self.config.n_frames)
        if mel_db.ndim != 3 or tuple(mel_db.shape[1:]) != expected:
            raise ValueError(f"expected input (batch, {expected[0]}, {expected[1]}), "
                             f"got {tuple(mel_db.shape)}")
        x = self.token_dropout(self.tokenizer(self.normalize(mel_db)))
        for block in self.blocks:
            x = block(x)
        return x.mean(dim=1)

    def forward(self, mel_db: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(mel_db))[:, 0]

    @property
    def n_parameters(self) -> int:
        """Trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def _init_weights(module: nn.Module) -> None:
    # ViT-style initialisation: small truncated-normal weights, zero biases.
    if isinstance(module, nn.Linear | nn.Conv1d):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


# ---------------------------------------------------------------------------------------------
# Training and prediction
# ---------------------------------------------------------------------------------------------

def _as_inputs(data: AudioBatch, config: SpecTTTraConfig, progress: bool) -> torch.Tensor:
    if isinstance(data, torch.Tensor) and data.ndim == 3:
        return data.float()
    return spectttra_inputs(list(data), config, progress=progress)


@torch.no_grad()
def _predict_logits(model: SpecTTTra, inputs: torch.Tensor, *, batch_size: int,
                    device: torch.device) -> torch.Tensor:
    model.eval()
    out = []
    for start in range(0, len(inputs), batch_size):
        with training_autocast(device):
            out.append(model(inputs[start:start + batch_size].to(device)).float().cpu())
    return torch.cat(out) if out else torch.empty(0)


def train_spectttra(train_audio: AudioBatch, y_train: np.ndarray,
                    val_audio: AudioBatch | None = None, y_val: np.ndarray | None = None, *,
                    config: SpecTTTraConfig | None = None, epochs: int = 20,
                    batch_size: int = 32, lr: float = 3e-4, weight_decay: float = 0.05,
                    warmup_fraction: float = 0.1, label_smoothing: float = 0.02,
                    grad_clip: float = 1.0, seed: int = 0, device: str | torch.device = "cpu",
                    progress: bool = True) -> tuple[SpecTTTra, pd.DataFrame]:
    """Train SpecTTTra with AdamW, linear warm-up + cosine decay and label-smoothed BCE.

    Parameters
    ----------
    train_audio, val_audio : sequence of numpy.ndarray or torch.Tensor
        44.1 kHz mono clips, or their precomputed :func:`spectttra_inputs` (a 3-D tensor, so
        the resampling and mel run once for many trainings).
    y_train, y_val : numpy.ndarray
        Labels, 1 = AI, 0 = real. The validation set picks the returned epoch.
    config : SpecTTTraConfig
        Architecture (default: full SpecTTTra-α at 4 s).
    epochs, batch_size : int
        Passes over the training set; clips per step (the last partial batch is kept).
    lr, weight_decay : float
        AdamW peak learning rate and decoupled weight decay (not applied to biases, norms and
        positional embeddings).
    warmup_fraction : float
        Share of all steps spent warming the learning rate up linearly.
    label_smoothing : float
        BCE targets become ``y (1 - s) + s / 2``.
    grad_clip : float
        Gradient norm clip.
    seed : int
        Seeds the initialisation (``torch.manual_seed``), dropout and the shuffling generator:
        same seed, same machine -> same model.
    device : str or torch.device
        ``"cuda"`` trains on the GPU with bfloat16 autocast.
    progress : bool
        tqdm bar over epochs.

    Returns
    -------
    (model, history)
        The model at the epoch with the best validation ROC-AUC (ties: lower validation loss;
        the last epoch without validation data), in eval mode, with training-set
        normalisation statistics; and one history row per epoch: ``epoch, lr`` (at the epoch's
        start), ``train_loss,
        val_loss, val_auc, seconds, samples_per_s, best``.
    """
    config = config or SpecTTTraConfig()
    device = torch.device(device)
    x_train = _as_inputs(train_audio, config, progress)
    y_tr = torch.as_tensor(np.asarray(y_train), dtype=torch.float32)
    if len(x_train) != len(y_tr) or len(y_tr) == 0:
        raise ValueError(f"{len(x_train)} training clips but {len(y_tr)} labels")
    has_val = val_audio is not None and y_val is not None and len(y_val) > 0
    x_val = _as_inputs(val_audio, config, progress) if has_val else None
    y_va = np.asarray(y_val).astype(int) if has_val else None

    torch.manual_seed(seed)
    model = SpecTTTra(config)
    model.norm_mean.fill_(x_train.mean().item())
    model.norm_std.fill_(x_train.std().item())
    model.to(device)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and not n.endswith(".pos")]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or n.endswith(".pos")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    total = epochs * steps_per_epoch
    warmup = max(1, int(round(warmup_fraction * total)))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: cosine_schedule(s, total=total, warmup=warmup))
    gen = torch.Generator().manual_seed(seed)

    rows: list[dict[str, Any]] = []
    best_key, best_state = None, None
    for epoch in tqdm(range(1, epochs + 1), desc="SpecTTTra", disable=not progress):
        model.train()
        lr_now = opt.param_groups[0]["lr"]
        t0 = time.perf_counter()
        order = torch.randperm(len(x_train), generator=gen)
        loss_sum = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x_train[idx].to(device), y_tr[idx].to(device)
            target = yb * (1 - label_smoothing) + label_smoothing / 2
            with training_autocast(device):
                logits = model(xb).float()
            loss = F.binary_cross_entropy_with_logits(logits, target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
        seconds = time.perf_counter() - t0
        row = {"epoch": epoch, "lr": lr_now,
               "train_loss": loss_sum / len(x_train), "val_loss": float("nan"),
               "val_auc": float("nan"), "seconds": seconds,
               "samples_per_s": len(x_train) / seconds, "best": False}
        if has_val:
            logits = _predict_logits(model, x_val, batch_size=batch_size, device=device)
            y_t = torch.as_tensor(y_va, dtype=torch.float32)
            row["val_loss"] = F.binary_cross_entropy_with_logits(logits, y_t).item()
            row["val_auc"] = roc_auc(y_va, torch.sigmoid(logits).numpy())
        key = (-np.nan_to_num(row["val_auc"], nan=-1.0), row["val_loss"]) if has_val else epoch
        if best_key is None or (key < best_key if has_val else True):
            best_key = key
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            for r in rows:
                r["best"] = False
            row["best"] = True
        rows.append(row)
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval(), pd.DataFrame(rows)


def predict_spectttra(model: SpecTTTra, audio_list: AudioBatch, *, batch_size: int = 32,
                      device: str | torch.device = "cpu", progress: bool = False) -> np.ndarray:
    """P(AI) for each 44.1 kHz clip (or each row of precomputed :func:`spectttra_inputs`),
    shape ``(n,)`` float64. """
    device = torch.device(device)
    inputs = _as_inputs(audio_list, model.config, progress)
    model.to(device)
    logits = _predict_logits(model, inputs, batch_size=batch_size, device=device)
    return torch.sigmoid(logits).double().numpy()


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------

def save_spectttra(model: SpecTTTra, path: str | Path, *,
                   info: dict[str, Any] | None = None) -> Path:
    """Write ``path`` as ``.safetensors`` (weights and normalisation buffers) and a ``.json``
    sidecar (the config, plus free-form ``info`` such as the training history summary).
    Returns the ``.safetensors`` path. """
    meta = {"model": "spectttra", "config": model.config.to_dict(), "info": info or {},
            "n_parameters": model.n_parameters}
    return save_checkpoint(Path(path).with_suffix(".safetensors"), model.state_dict(), meta)


def load_spectttra(path: str | Path, *, device: str | torch.device = "cpu") -> SpecTTTra:
    """Load a model written by :func:`save_spectttra` (safetensors + JSON; nothing unpickled),
    in eval mode on ``device``. """
    state, meta = load_checkpoint(Path(path).with_suffix(".safetensors"))
    model = SpecTTTra(SpecTTTraConfig.from_dict(meta["config"]))
    model.load_state_dict(state)
    return model.to(device).eval()
