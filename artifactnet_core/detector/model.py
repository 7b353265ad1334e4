"""ArtifactNet: ``|X|`` -> bounded-mask UNet -> residual -> forensic features -> compact CNN.

The model works on chunks of mono audio at its configured rate (paper: 4 s at 44.1 kHz,
176,400 samples, 1025 x 345 STFT bins x frames). There is one path from audio to P(AI):

``audio -> spectrogram -> residual -> base maps (mel-dB of R, H, P) -> channels -> logit``

:meth:`ArtifactNet.base_maps` stops after the expensive part (UNet and HPSS) and
:meth:`ArtifactNet.classify_base` finishes from there; ``forward`` is the two in a row. Feature
caching for training stores base maps, ``detect``, the explorer and the speed script call
:func:`predict_chunks`; all of them run the same code. A track's score aggregates its chunks'
probabilities (:func:`aggregate_chunks`, median by default).

Checkpoints are a safetensors file of tensors plus a JSON file of the configuration
(:mod:`artifactnet_core.checkpoint`); loading never unpickles anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from artifactnet_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from artifactnet_core.detector.classifier import CompactCNN
from artifactnet_core.detector.config import AGGREGATES, ArtifactNetConfig
from artifactnet_core.detector.features import FEATURE_SETS, ForensicFeaturizer
from artifactnet_core.detector.spectral import magnitude
from artifactnet_core.detector.unet import ArtifactUNet, inference_dtype
from artifactnet_core.paths import WEIGHTS_DIR
from artifactnet_core.runtime import map_batch_single_threaded

__all__ = ["DEFAULT_WEIGHTS", "ArtifactNet", "ArtifactNetConfig", "aggregate_chunks",
           "chunk_inference_bytes", "default_weights", "inference_batch_size", "load_model",
           "predict_chunks", "save_model"]

#: The weights shipped inside the package.
DEFAULT_WEIGHTS = WEIGHTS_DIR / "artifactnet.safetensors"


def spectrogram(audio: torch.Tensor, config: ArtifactNetConfig, *,
                frames: slice | None = None) -> torch.Tensor:
    """The detector's front end: magnitude ``|X|`` ``(batch, 1 + n_fft // 2, frames)`` of audio
    clipped to [-1, 1], with the STFT of ``config``; ``frames``: only those frames, the same
    values (:func:`~artifactnet_core.detector.spectral.stft`)."""
    return magnitude(audio.clamp(-1.0, 1.0), n_fft=config.n_fft, hop_length=config.hop_length,
                     frames=frames)


class ArtifactNet(nn.Module):
    """The detector. ``forward(audio)`` maps chunks ``(batch, samples)`` to logits ``(batch,)``.

    Parameters
    ----------
    config : ArtifactNetConfig
        Architecture and pre-processing parameters (defaults: the paper's).
    """

    def __init__(self, config: ArtifactNetConfig | None = None):
        super().__init__()
        self.config = config = config or ArtifactNetConfig()
        if config.feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature_set {config.feature_set!r}")
        self.unet = (ArtifactUNet(base_width=config.unet_base_width,
                                  multipliers=config.unet_multipliers,
                                  mask_bound=config.mask_bound)
                     if config.use_unet else None)
        self.featurizer = ForensicFeaturizer(sr=config.sample_rate, n_fft=config.n_fft,
                                             n_mels=config.n_mels, top_db=config.top_db,
                                             hpss_kernel=config.hpss_kernel,
                                             feature_set=config.feature_set)
        self.classifier = CompactCNN(in_channels=self.featurizer.n_channels,
                                     widths=config.cnn_widths, hidden=config.cnn_hidden)

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        """Magnitude ``|X|`` ``(batch, 1025, frames)`` of audio clipped to [-1, 1]."""
        return spectrogram(audio, self.config)

    def residual(self, mag: torch.Tensor, *, precision: str = "auto") -> torch.Tensor:
        """The forensic residual ``R = M * |X|`` (``|X|`` itself when the UNet is ablated).

        In training mode gradients flow through the UNet; in eval mode it runs through
        :meth:`ArtifactUNet.infer` in ``precision`` (``auto``: bfloat16 where that is fast).
        """
        if self.unet is None:
            return mag
        return self.unet(mag) if self.training else self.unet.infer(mag, precision=precision)

    def base_maps(self, audio: torch.Tensor, *, precision: str = "auto") -> torch.Tensor:
        """The expensive half of the path: mel-dB maps of R, H and P, ``(batch, 3, n_mels,
        frames)``, for audio chunks ``(batch, samples)`` (see :meth:`ForensicFeaturizer.base_maps`).
        ``precision`` is the UNet's in eval mode (:meth:`residual`).

        A batch of two or more chunks, in eval mode on the CPU without autograd, goes through
        one chunk at a time, the chunks shared out among the torch threads, each
        single-threaded (:func:`~artifactnet_core.runtime.map_batch_single_threaded`,
        ``one_at_a_time``): a chunk's intermediates then stay in the CPU's caches
        (``benchmarks/speed.py`` prints the gain over one pass), and its maps are the same bits
        in any such batch and on any number of threads.
        """
        def maps(chunks: torch.Tensor) -> tuple[torch.Tensor]:
            mag = self.spectrogram(chunks)
            return (self.featurizer.base_maps(mag, self.residual(mag, precision=precision)),)

        if self.training or audio.shape[0] < 2:
            return maps(audio)[0]  # a lone chunk keeps torch's intra-op threads
        return map_batch_single_threaded(maps, audio, one_at_a_time=True)[0]

    def classify_base(self, base: torch.Tensor) -> torch.Tensor:
        """The cheap half: logits ``(batch,)`` from base maps (the feature set's channels are
        derived on the fly)."""
        return self.classifier(self.featurizer.channels_from_base(base))

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """Forensic feature maps ``(batch, channels, n_mels, frames)`` of audio chunks."""
        return self.featurizer.channels_from_base(self.base_maps(audio))

    def forward(self, audio: torch.Tensor, *, precision: str = "auto") -> torch.Tensor:
        return self.classify_base(self.base_maps(audio, precision=precision))

    @torch.inference_mode()
    def predict_proba(self, audio: torch.Tensor, *, precision: str = "auto") -> torch.Tensor:
        """P(AI) per chunk for audio ``(batch, samples)``, in eval mode; ``precision`` of the
        UNet as in :meth:`ArtifactUNet.infer` (``auto``: bfloat16 where it is fast, int8 on
        another CPU with VNNI; bfloat16 moves the shipped model's P(AI) by at most 6.5e-3 from
        float32 over 302 chunks of real music, median 2.7e-5: ``benchmarks/bf16_blocks.py``,
        ``tests/test_fast_paths.py``)."""
        was_training = self.training
        self.eval()
        try:
            return torch.sigmoid(self(audio, precision=precision))
        finally:
            self.train(was_training)

    def compile_inference(self, *, enable: bool = True) -> ArtifactNet:
        """Run inference's two heavy stages under ``torch.compile``: the UNet
        (:meth:`ArtifactUNet.compile_inference`) and HPSS
        (:meth:`ForensicFeaturizer.compile_inference`); ``enable=False`` goes back to eager.

        A one-off warm-up per input shape (``benchmarks/gpu.py`` prints it; needs Triton on a
        GPU and a C++ compiler on a CPU), then the fastest GPU path (``benchmarks/README.md``).
        Call it again after changing the weights. Returns the module.
        """
        if self.unet is not None:
            self.unet.compile_inference(enable=enable)
        self.featurizer.compile_inference(enable=enable)
        return self

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters per part and in total."""
        def count(module: nn.Module | None) -> int:
            return 0 if module is None else sum(p.numel() for p in module.parameters())

        parts = {"unet": count(self.unet), "featurizer": count(self.featurizer),
                 "classifier": count(self.classifier)}
        parts["total"] = sum(parts.values())
        return parts


def predict_chunks(model: ArtifactNet, chunks: np.ndarray, *, batch: int | None = 4,
                   precision: str = "auto") -> np.ndarray:
    """The detector's P(AI) for each chunk, ``batch`` chunks per forward pass.

    Parameters
    ----------
    model : ArtifactNet
        The detector (any device; it runs in eval mode via :meth:`ArtifactNet.predict_proba`).
    chunks : numpy.ndarray or torch.Tensor
        ``(n_chunks, model.config.chunk_samples)`` mono samples at the model's rate.
    batch : int or None
        Chunks per forward pass; ``None``: as many as the memory budget allows
        (:func:`inference_batch_size`).
    precision : {"auto", "fp32", "bf16", "int8"}
        The UNet's precision (:meth:`ArtifactUNet.infer`).

    Returns
    -------
    numpy.ndarray
        ``(n_chunks,)`` float64 probabilities.
    """
    device = next(model.parameters()).device
    if batch is None:
        batch = inference_batch_size(model.config, device, precision=precision)
    out = [model.predict_proba(torch.as_tensor(chunks[i:i + batch], device=device),
                               precision=precision).float().cpu()
           for i in range(0, len(chunks), batch)]
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)


#: Default peak-memory budget of one forward pass when the batch is chosen by memory.
INFERENCE_MEMORY_BUDGET = 16 * 2**30
#: Memory held apart from the chunks' activations (CUDA context, cuDNN workspace, weights).
_FIXED_INFERENCE_BYTES = 2**30


def chunk_inference_bytes(config: ArtifactNetConfig, *, dtype: torch.dtype = torch.bfloat16,
                          margin: float = 1.5) -> int:
    """Upper estimate of the memory one chunk adds to a forward pass of
    :meth:`ArtifactNet.predict_proba`, in bytes.

    The peak is in the UNet's last up-sampling block at full resolution, where the skip
    connection, the concatenated input of the block, its two outputs and the lower level's
    output are alive at once; the spectrogram, HPSS and mel maps are float32 and far smaller.
    ``margin`` covers allocator rounding and fragmentation (``benchmarks/gpu.py`` prints the
    measured peak beside this estimate).

    Parameters
    ----------
    config : ArtifactNetConfig
        The detector's front end and widths.
    dtype : torch.dtype
        The UNet's activation dtype (:func:`~artifactnet_core.detector.unet.inference_dtype`).
    margin : float
        Factor applied to the estimate.
    """
    bins, frames, pixels, (w0, w1) = _unet_geometry(config)
    elem = torch.empty(0, dtype=dtype).element_size()
    unet = (4 * w0 + 2 * w1) * pixels * elem if config.use_unet else 0
    spectral = 12 * bins * frames * 4  # |X|, R, H, P, two medians, masks, block temporaries
    return int(margin * (unet + spectral))


def _unet_geometry(config: ArtifactNetConfig) -> tuple[int, int, int, tuple[int, int]]:
    # STFT bins and frames of a chunk, the UNet's padded pixels, its two top widths.
    bins = 1 + config.n_fft // 2
    frames = 1 + config.chunk_samples // config.hop_length
    mult = 2 ** (len(config.unet_multipliers) - 1)
    pixels = (-(-bins // mult) * mult) * (-(-frames // mult) * mult)
    w0, w1 = (config.unet_base_width * m for m in config.unet_multipliers[:2])
    return bins, frames, pixels, (w0, w1)


def inference_batch_size(config: ArtifactNetConfig, device: torch.device | str, *,
                         precision: str = "auto", budget_bytes: int = INFERENCE_MEMORY_BUDGET,
                         free_bytes: int | None = None, max_batch: int = 256) -> int:
    """Chunks per forward pass whose estimated peak memory stays within the budget.

    The budget is the smaller of ``budget_bytes`` and 90 % of the device's free memory
    (``torch.cuda.mem_get_info`` on a GPU; on a CPU only ``budget_bytes``), less a fixed
    1 GiB for the CUDA context, workspaces and weights. The batch is also kept small enough
    that no activation reaches 2**31 elements, the limit of 32-bit-indexed GPU kernels.

    Parameters
    ----------
    config : ArtifactNetConfig
        The detector's configuration.
    device : torch.device or str
        Where the forward pass runs.
    precision : {"auto", "fp32", "bf16", "int8"}
        The UNet's precision (:func:`~artifactnet_core.detector.unet.inference_dtype`).
    budget_bytes : int
        Peak-memory budget in bytes (default 16 GiB).
    free_bytes : int, optional
        Free device memory in bytes; measured when omitted.
    max_batch : int
        Upper bound on the result.

    Returns
    -------
    int
        At least 1 (one chunk is always tried).
    """
    device = torch.device(device)
    if free_bytes is None and device.type == "cuda":
        free_bytes = torch.cuda.mem_get_info(device)[0]
    budget = budget_bytes if free_bytes is None else min(budget_bytes, int(0.9 * free_bytes))
    per_chunk = chunk_inference_bytes(config, dtype=inference_dtype(device, precision))
    by_memory = (budget - _FIXED_INFERENCE_BYTES) // per_chunk
    _, _, pixels, (w0, w1) = _unet_geometry(config)
    by_index = (2**31 - 1) // ((w0 + w1) * pixels)  # the top up-block's concatenated input
    return int(max(1, min(max_batch, by_memory, by_index)))


def aggregate_chunks(p_chunks: np.ndarray, *, method: str = "median",
                     weights: np.ndarray | None = None) -> float:
    """Combine chunk probabilities into one track score.

    Parameters
    ----------
    p_chunks : numpy.ndarray
        P(AI) of each chunk.
    method : {"median", "mean", "rms_weighted"}
        ``median`` (robust to a few odd chunks; default), plain ``mean``, or a mean weighted by
        ``weights`` (the chunks' RMS level, so near-silent passages count less).
    weights : numpy.ndarray, optional
        Non-negative weight per chunk, for ``rms_weighted``.
    """
    p = np.asarray(p_chunks, dtype=np.float64)
    if p.size == 0:
        raise ValueError("no chunks to aggregate")
    if method not in AGGREGATES:
        raise ValueError(f"unknown aggregation {method!r}; one of {AGGREGATES}")
    if method == "median":
        return float(np.median(p))
    if method == "mean":
        return float(p.mean())
    if method == "rms_weighted":
        if weights is None:
            raise ValueError("rms_weighted aggregation needs weights")
        w = np.asarray(weights, dtype=np.float64)
        return float((p * w).sum() / w.sum()) if w.sum() > 0 else float(p.mean())
    raise AssertionError(method)  # pragma: no cover - AGGREGATES is exhausted above


def save_model(model: ArtifactNet, path: str | Path, *, half: bool = False) -> Path:
    """Write ``path`` (.safetensors, the tensors) and ``path`` with .json (the config),
    atomically.

    Parameters
    ----------
    model : ArtifactNet
        The model to store.
    path : path
        Destination ending in ``.safetensors``.
    half : bool
        Store floating-point tensors as float16 (half the size; loading casts back).
    """
    import dataclasses

    return save_checkpoint(Path(path).with_suffix(".safetensors"), model.state_dict(),
                           dataclasses.asdict(model.config), half=half)


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> ArtifactNet:
    """Load a model written by :func:`save_model` (safetensors + JSON; nothing is unpickled).

    Exactly ``path`` is read (its config is the ``.json`` beside it); a path ending in ``.pt``
    is not swapped for a ``.safetensors`` file of the same name.

    Raises
    ------
    FileNotFoundError
        If the weights or the config are missing.
    ValueError
        :class:`~artifactnet_core.checkpoint.CheckpointError` naming the file: not safetensors,
        a config value out of range (:meth:`ArtifactNetConfig.validate`), tensors that do not
        fit the configured architecture, NaN or infinite values.
    """
    path = Path(path)
    state, meta = load_checkpoint(path)
    meta_path = path.with_suffix(".json")
    try:
        config = ArtifactNetConfig.from_dict(meta)
        model = ArtifactNet(config)
    except Exception as err:  # noqa: BLE001 - whatever a bad config makes the constructors raise
        raise CheckpointError(f"{meta_path}: invalid config: {err}") from err
    reference = model.state_dict()
    missing = set(reference) - set(state)
    unexpected = set(state) - set(reference)
    if missing or unexpected:
        raise CheckpointError(f"{path}: tensors do not match the config in {meta_path.name} "
                              f"(missing {sorted(missing)[:3]}, unexpected "
                              f"{sorted(unexpected)[:3]})")
    wrong = [k for k in reference if state[k].shape != reference[k].shape]
    if wrong:
        k = wrong[0]
        raise CheckpointError(f"{path}: tensor {k!r} has shape {tuple(state[k].shape)}, the "
                              f"config needs {tuple(reference[k].shape)}")
    cast = {k: v.to(reference[k].dtype) for k, v in state.items()}
    # Finite as stored (checked by load_checkpoint) can overflow when cast, e.g. 1e300 to float32.
    overflow = [k for k, v in cast.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if overflow:
        raise CheckpointError(f"{path}: tensor {overflow[0]!r} overflows "
                              f"{reference[overflow[0]].dtype}")
    # A negative variance passes every finiteness check and gives NaN at the first batch norm.
    negative = [k for k, v in cast.items() if k.endswith("running_var") and (v < 0).any()]
    if negative:
        raise CheckpointError(f"{path}: tensor {negative[0]!r} holds negative variances")
    model.load_state_dict(cast)
    return model.to(device).eval()


def default_weights() -> Path | None:
    """The default checkpoint: ``$ARTIFACTNET_WEIGHTS`` if set, else the weights shipped in the
    package; ``None`` when nothing is shipped (nothing trained yet).

    Raises
    ------
    FileNotFoundError
        ``$ARTIFACTNET_WEIGHTS`` is set but names no file (the message names the variable).
    """
    env = os.environ.get("ARTIFACTNET_WEIGHTS")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"ARTIFACTNET_WEIGHTS={env}: no such weights file (set it to a .safetensors "
                "checkpoint with its .json beside it, or unset it to use the shipped model)")
        return path
    if DEFAULT_WEIGHTS.is_file() and DEFAULT_WEIGHTS.with_suffix(".json").is_file():
        return DEFAULT_WEIGHTS
    return None
