"""Spectral operations in plain torch: STFT/iSTFT, mel filterbank, dB, deltas and HPSS.

Everything works on batched tensors (leading dimensions are kept) on any device, so the same code
runs in the featurizer on a GPU and in a notebook on a laptop. librosa is the reference the tests
compare against (``tests/test_spectral.py``); where librosa makes a choice (Slaney mel scale,
reflect-padded median filters, split-zero soft masks) this module makes the same one.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from artifactnet_core.detector.config import (
    HOP_LENGTH,
    HPSS_KERNEL,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    TOP_DB,
)
from artifactnet_core.runtime import map_batch_single_threaded


def stft(audio: torch.Tensor, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
         center: bool = True, pad_mode: str = "reflect", frames: slice | None = None
         ) -> torch.Tensor:
    """Short-time Fourier transform with a periodic Hann window.

    Parameters
    ----------
    audio : torch.Tensor
        Signal of shape ``(..., samples)``.
    n_fft : int
        FFT size and window length in samples.
    hop_length : int
        Hop between frames in samples.
    center : bool
        Pad ``n_fft // 2`` samples on both sides so frame ``t`` is centred at ``t * hop_length``.
    pad_mode : str
        Padding mode when centring (``"reflect"`` as librosa).
    frames : slice, optional
        Only these frames (``slice(start, stop)``, step 1), transformed from the samples they
        cover alone: the same values as slicing the whole transform (each frame is its own
        FFT), for a fraction of the work. The UNet's training crops use it (notebook 03).

    Returns
    -------
    torch.Tensor
        Complex spectrogram ``(..., 1 + n_fft // 2, frames)``.
    """
    shape = audio.shape
    flat = audio.reshape(-1, shape[-1])
    if frames is not None:
        if frames.step not in (None, 1):
            raise ValueError(f"frames must be a contiguous slice, got {frames}")
        if center:  # the padding torch.stft would add, then no centring
            flat = F.pad(flat[:, None], (n_fft // 2, n_fft // 2), mode=pad_mode)[:, 0]
            center = False
        total = 1 + (flat.shape[-1] - n_fft) // hop_length
        start, stop, _ = frames.indices(total)
        stop = max(stop, start)
        flat = flat[:, start * hop_length:(stop - 1) * hop_length + n_fft]
    window = torch.hann_window(n_fft, periodic=True, device=audio.device, dtype=audio.dtype)
    spec = torch.stft(flat, n_fft=n_fft, hop_length=hop_length, window=window, center=center,
                      pad_mode=pad_mode, return_complex=True)
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
          length: int | None = None, center: bool = True) -> torch.Tensor:
    """Inverse of :func:`stft` (overlap-add with the same Hann window).

    Parameters
    ----------
    spec : torch.Tensor
        Complex spectrogram ``(..., 1 + n_fft // 2, frames)``.
    n_fft, hop_length, center
        As used for the forward transform.
    length : int, optional
        Output length in samples (trims or zero-pads the end).

    Returns
    -------
    torch.Tensor
        Real signal ``(..., samples)``.
    """
    shape = spec.shape
    flat = spec.reshape(-1, *shape[-2:])
    real_dtype = spec.real.dtype if spec.is_complex() else spec.dtype
    window = torch.hann_window(n_fft, periodic=True, device=spec.device, dtype=real_dtype)
    audio = torch.istft(flat, n_fft=n_fft, hop_length=hop_length, window=window, center=center,
                        length=length)
    return audio.reshape(*shape[:-2], audio.shape[-1])


def magnitude(audio: torch.Tensor, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
              frames: slice | None = None) -> torch.Tensor:
    """Magnitude spectrogram ``|STFT(audio)|``, shape ``(..., 1 + n_fft // 2, frames)``
    (``frames``: only those, as in :func:`stft`)."""
    return stft(audio, n_fft=n_fft, hop_length=hop_length, frames=frames).abs()


def _hz_to_mel(freq: np.ndarray) -> np.ndarray:
    # Slaney's auditory-toolbox scale: linear below 1 kHz, logarithmic above (librosa's default).
    f_sp = 200.0 / 3
    mels = freq / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    log_region = freq >= min_log_hz
    mels = np.where(log_region, min_log_mel + np.log(np.maximum(freq, 1e-10) / min_log_hz)
                    / logstep, mels)
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)),
                    freqs)


def mel_filterbank(*, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS,
                   fmin: float = 0.0, fmax: float | None = None,
                   device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Triangular mel filterbank on the Slaney scale with Slaney (area) normalisation.

    Identical to ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)``.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    n_fft : int
        FFT size; the filterbank has ``1 + n_fft // 2`` inputs.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Lowest and highest frequency in Hz (``fmax`` defaults to ``sr / 2``).

    Returns
    -------
    torch.Tensor
        Weights ``(n_mels, 1 + n_fft // 2)``.
    """
    fmax = sr / 2 if fmax is None else fmax
    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_pts = _mel_to_hz(np.linspace(_hz_to_mel(np.array(fmin)), _hz_to_mel(np.array(fmax)),
                                     n_mels + 2))
    fdiff = np.diff(mel_pts)
    ramps = mel_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_pts[2:n_mels + 2] - mel_pts[:n_mels]))[:, None]
    return torch.as_tensor(weights, dtype=dtype, device=device)


def mel_power(mag: torch.Tensor, filterbank: torch.Tensor) -> torch.Tensor:
    """Mel power spectrogram: ``filterbank @ |X|**2``, shape ``(..., n_mels, frames)``."""
    return torch.matmul(filterbank, mag.square())


def power_to_db(power: torch.Tensor, *, ref: torch.Tensor | float = 1.0, amin: float = 1e-10,
                top_db: float | None = TOP_DB) -> torch.Tensor:
    """Convert power to decibels relative to ``ref``, floored ``top_db`` below the reference.

    With ``ref`` equal to the maximum of ``power`` this matches
    ``librosa.power_to_db(power, ref=np.max, top_db=top_db)``. Passing one ``ref`` for several
    spectrograms (broadcast over their leading dimensions) puts them on one scale with one floor,
    which is how the forensic features keep R, H and P comparable.

    Parameters
    ----------
    power : torch.Tensor
        Non-negative power values.
    ref : torch.Tensor or float
        Reference power (0 dB); a tensor broadcast against ``power``.
    amin : float
        Smallest power considered, avoids ``log(0)``.
    top_db : float or None
        Floor at ``10 log10(ref) - top_db``; ``None`` disables it.
    """
    ref_t = torch.as_tensor(ref, dtype=power.dtype, device=power.device)
    ref_db = 10.0 * torch.log10(ref_t.clamp_min(amin))
    db = 10.0 * torch.log10(power.clamp_min(amin)) - ref_db
    if top_db is not None:
        db = db.clamp_min(-top_db)
    return db


def _symmetric_index(length: int, left: int, right: int, device: torch.device) -> torch.Tensor:
    # Indices of a half-sample symmetric extension (scipy.ndimage mode "reflect": d c b a|a b c d)
    # by ``left`` and ``right`` samples, valid for any pad, even one longer than the signal.
    idx = torch.arange(-left, length + right, device=device) % (2 * length)
    return torch.where(idx >= length, 2 * length - 1 - idx, idx)


def _batcher_pairs(n: int) -> list[tuple[int, int]]:
    # Batcher's odd-even merge sort on n (a power of two) wires: after the comparators
    # (i, j), i < j, each putting the smaller value on i, the wires hold their values sorted.
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


class _SelectionNetwork:
    """A program of elementwise min / max operations that selects order statistics.

    Nodes are the inputs and the min or max of two earlier nodes. While the program is built,
    what is known about the order of nodes (``min(a, b) <= a``; selected order statistics are
    sorted) is tracked, so a comparison whose outcome is already known costs nothing, and an
    expression already built is reused.
    """

    _INF = -1  # a padding wire holding +infinity: it never moves below a real value

    def __init__(self, n_inputs: int):
        self.nodes: list[tuple[str, int, int]] = [("in", i, i) for i in range(n_inputs)]
        self.below = [{i} for i in range(n_inputs)]  # nodes known to be <= node
        self.above = [{i} for i in range(n_inputs)]  # nodes known to be >= node
        self.known: dict[tuple[str, int, int], int] = {}

    def _node(self, op: str, u: int, v: int) -> int:
        key = (op, min(u, v), max(u, v))
        if key not in self.known:
            self.nodes.append(key)
            new = len(self.nodes) - 1
            if op == "min":
                below, above = self.below[u] & self.below[v], self.above[u] | self.above[v]
            else:
                below, above = self.below[u] | self.below[v], self.above[u] & self.above[v]
            self.below.append(below | {new})
            self.above.append(above | {new})
            for w in above:
                self.below[w].add(new)
            for w in below:
                self.above[w].add(new)
            self.known[key] = new
        return self.known[key]

    def compare(self, u: int, v: int) -> tuple[int, int]:
        """``(min, max)`` of nodes ``u`` and ``v``."""
        if v == self._INF or u == v:
            return u, v
        if u == self._INF:
            return v, u
        if u in self.below[v]:
            return u, v
        if v in self.below[u]:
            return v, u
        return self._node("min", u, v), self._node("max", u, v)

    def select(self, wires: list[int], ranks: list[int]) -> list[int]:
        """The nodes holding order statistics ``ranks`` (0: smallest) of ``wires``."""
        n = 1 << max(0, len(wires) - 1).bit_length()
        w = list(wires) + [self._INF] * (n - len(wires))
        for a, b in _batcher_pairs(n):
            w[a], w[b] = self.compare(w[a], w[b])
        return [w[r] for r in ranks]

    def mark_sorted(self, nodes: list[int]) -> None:
        """Record that ``nodes`` are in ascending order."""
        for lo, hi in zip(nodes, nodes[1:], strict=False):
            for x in self.below[lo]:
                for y in self.above[hi]:
                    self.below[y].add(x)
                    self.above[x].add(y)

    def schedule(self, outputs: list[int]) -> tuple[list[tuple[int, int]], list[tuple], list[int]]:
        """Compile to ``(inputs, steps, outputs)``: ``inputs`` pairs a node with its input
        offset, each step ``(node, is_min, a, b, dead)`` computes one node and names the nodes
        not needed after it."""
        needed: set[int] = set()
        stack = list(outputs)
        while stack:
            u = stack.pop()
            if u not in needed:
                needed.add(u)
                op, a, b = self.nodes[u]
                if op != "in":
                    stack += [a, b]
        order = sorted(needed)  # creation order is a topological order
        last_use = {}
        for u in order:
            op, a, b = self.nodes[u]
            if op != "in":
                last_use[a] = last_use[b] = u
        last_use.update({u: len(self.nodes) for u in outputs})  # outputs are never freed
        inputs = [(u, self.nodes[u][1]) for u in order if self.nodes[u][0] == "in"]
        steps = []
        for u in order:
            op, a, b = self.nodes[u]
            if op != "in":
                dead = tuple(sorted({x for x in (a, b) if last_use[x] == u}))
                steps.append((u, op == "min", a, b, dead))
        return inputs, steps, list(outputs)


@functools.lru_cache(maxsize=16)
def _median_program(kernel_size: int, group: int) -> tuple[list, list, list]:
    # The medians of ``group`` neighbouring windows of ``kernel_size`` samples, from the
    # ``group + kernel_size - 1`` samples they cover. The windows share a core of
    # ``kernel_size - group + 1`` samples; only the core's order statistics ``r - group + 1 ..
    # r`` (r = kernel_size // 2) can be a window's median, so they are selected once, and
    # each window's median is the median of those ``group`` values and its ``group - 1`` own
    # samples.
    half = kernel_size // 2
    net = _SelectionNetwork(group + kernel_size - 1)
    core = net.select(list(range(group - 1, kernel_size)),
                      list(range(half - group + 1, half + 1)))
    net.mark_sorted(core)
    outputs = []
    for i in range(group):
        own = list(range(i, group - 1)) + list(range(kernel_size, kernel_size + i))
        outputs.append(net.select(core + own, [group - 1])[0])
    return net.schedule(outputs)


def mark_median_programs_constant() -> None:
    """Let ``torch.compile`` take the median programs as constants instead of tracing how they
    are built (the selection-network bookkeeping: minutes for a 31-tap kernel, against
    seconds). Imports ``torch._dynamo``, so it is called when something is compiled
    (:meth:`~artifactnet_core.detector.features.ForensicFeaturizer.compile_inference`), never
    on import."""
    torch.compiler.assume_constant_result(_median_program.__wrapped__)


#: Longest kernel filtered by the selection network; longer ones sort each window.
_NETWORK_MAX_KERNEL = 63


def _median_group(kernel_size: int) -> int:
    # Windows per shared core: 8 for the paper's 31 (about 70 min/max per output instead of
    # 274 for one window alone), fewer for short kernels, whose core must stay non-empty.
    return min(8, 1 << (((kernel_size + 1) // 2).bit_length() - 1))


def median_filter(x: torch.Tensor, *, kernel_size: int, dim: int,
                  block_elements: int = 1 << 24, method: str = "network") -> torch.Tensor:
    """Running median of odd length ``kernel_size`` along one dimension.

    Edges are extended symmetrically, as ``scipy.ndimage.median_filter(mode="reflect")``. Both
    methods return exactly the same values (medians are input values; no arithmetic happens):

    * ``"network"`` (default, kernels up to 63): a selection network of elementwise
      ``minimum`` / ``maximum`` on whole tensors, no sort. Neighbouring windows share most of
      their samples, so 8 of them are done at once from the order statistics of their common
      core: about 70 min/max per output for a 31-tap median, 10-15x faster than sorting on a
      CPU and a handful of large elementwise kernels on a GPU.
    * ``"sort"``: each window is materialised (``unfold``) and its median taken with
      ``torch.median``; the reference, used for longer kernels.

    Work is done a block of rows at a time (at most about ``block_elements`` input values), so
    memory stays bounded for large batches.

    Parameters
    ----------
    x : torch.Tensor
        Input of any shape.
    kernel_size : int
        Odd window length in samples (bins or frames).
    dim : int
        Dimension to filter along.
    block_elements : int
        Upper bound on the input values (``"network"``) or window values (``"sort"``) held at
        once.
    method : {"network", "sort"}
        How each median is found (same result).
    """
    if kernel_size % 2 != 1 or kernel_size < 1:
        raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size}")
    if method not in ("network", "sort"):
        raise ValueError(f"unknown median method {method!r}; 'network' or 'sort'")
    if method == "sort" or kernel_size > _NETWORK_MAX_KERNEL:
        return _median_by_sorting(x, kernel_size=kernel_size, dim=dim,
                                  block_elements=block_elements)
    dim = dim % x.ndim
    length = x.shape[dim]
    # (rows, length, inner): the filtered dimension in the middle, contiguous inner rows.
    inner = math.prod(x.shape[dim + 1:])
    flat = x.contiguous().reshape(-1, length, inner)
    group = _median_group(kernel_size)
    n_groups = -(-length // group)
    half = kernel_size // 2
    index = _symmetric_index(length, half, half + n_groups * group - length, x.device)
    if torch.compiler.is_compiling():  # a traced graph keeps the batch size symbolic: no loop
        padded = flat.index_select(1, index)
        medians = _run_median_program(padded, kernel_size, group, n_groups)
        return medians[:, :length].reshape(x.shape)
    step = max(1, block_elements // ((length + kernel_size) * inner))
    out = torch.empty_like(flat)
    for start in range(0, flat.shape[0], step):
        padded = flat[start:start + step].index_select(1, index)
        medians = _run_median_program(padded, kernel_size, group, n_groups)
        out[start:start + step] = medians[:, :length]
    return out.reshape(x.shape)


def _run_median_program(padded: torch.Tensor, kernel_size: int, group: int,
                        n_groups: int) -> torch.Tensor:
    # ``padded`` (rows, n_groups * group + kernel_size - 1, inner) -> medians
    # (rows, n_groups * group, inner); input offset i of window group q is padded[:, q*group+i].
    inputs, steps, outputs = _median_program(kernel_size, group)
    values = {u: padded[:, i:i + group * n_groups:group] for u, i in inputs}
    for node, is_min, a, b, dead in steps:
        values[node] = (torch.minimum if is_min else torch.maximum)(values[a], values[b])
        for u in dead:
            del values[u]
    return torch.stack([values[u] for u in outputs], dim=2).flatten(1, 2)


def _median_by_sorting(x: torch.Tensor, *, kernel_size: int, dim: int,
                       block_elements: int) -> torch.Tensor:
    dim = dim % x.ndim
    moved = x.movedim(dim, -1)
    length = moved.shape[-1]
    rows = moved.reshape(-1, length)
    index = _symmetric_index(length, kernel_size // 2, kernel_size // 2, x.device)
    step = max(1, block_elements // (length * kernel_size))
    out = torch.empty_like(rows)
    for start in range(0, rows.shape[0], step):
        padded = rows[start:start + step].index_select(-1, index)
        out[start:start + step] = padded.unfold(-1, kernel_size, 1).median(dim=-1).values
    return out.reshape(moved.shape).movedim(-1, dim)


def softmask(x: torch.Tensor, x_ref: torch.Tensor, *, power: float = 2.0) -> torch.Tensor:
    """Soft mask ``x**p / (x**p + x_ref**p)``, computed scale-free; 0.5 where both vanish.

    Matches ``librosa.util.softmask(x, x_ref, power=power, split_zeros=True)``.
    """
    z = torch.maximum(x, x_ref)
    tiny = torch.finfo(x.dtype).tiny
    bad = z < tiny
    z = torch.where(bad, torch.ones_like(z), z)
    m = (x / z) ** power
    m_ref = (x_ref / z) ** power
    mask = m / (m + m_ref).clamp_min(tiny)
    return torch.where(bad, torch.full_like(mask, 0.5), mask)


def hpss(mag: torch.Tensor, *, kernel_size: int = HPSS_KERNEL,
         power: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Harmonic-percussive separation of a magnitude spectrogram by median filtering.

    A median along time keeps what is steady in time (harmonic partials); a median along
    frequency keeps what is broadband and short (onsets). Soft masks built from the two medians
    split the input: ``H = mag * mask_H`` and ``P = mag * mask_P`` with
    ``mask_H = h**p / (h**p + p**p)``. Same as
    ``librosa.decompose.hpss(mag, kernel_size=kernel_size, power=power)``.

    Parameters
    ----------
    mag : torch.Tensor
        Non-negative magnitudes ``(..., freq, frames)``.
    kernel_size : int
        Median filter length, in frames (harmonic) and bins (percussive); paper: 31.
    power : float
        Soft-mask exponent (2: Wiener-like masks, as in the paper).

    Returns
    -------
    (harmonic, percussive) : tuple of torch.Tensor
        Two tensors shaped like ``mag``.
    """
    # On the CPU the spectrograms are shared out among the threads, each one's many small
    # min / max ops single-threaded (runtime.map_batch_single_threaded: 3-4x faster here).
    batch = mag.reshape(-1, *mag.shape[-2:])
    harmonic, percussive = map_batch_single_threaded(
        functools.partial(_hpss, kernel_size=kernel_size, power=power), batch)
    return harmonic.reshape(mag.shape), percussive.reshape(mag.shape)


def _hpss(mag: torch.Tensor, *, kernel_size: int,
          power: float) -> tuple[torch.Tensor, torch.Tensor]:
    harm = median_filter(mag, kernel_size=kernel_size, dim=-1)
    perc = median_filter(mag, kernel_size=kernel_size, dim=-2)
    return mag * softmask(harm, perc, power=power), mag * softmask(perc, harm, power=power)


def _savgol_coeffs(width: int, order: int) -> np.ndarray:
    # Least-squares polynomial of degree ``order`` over ``width`` points, differentiated
    # ``order`` times at the centre: scipy.signal.savgol_coeffs(width, order, deriv=order,
    # use="dot"), computed the same way (tests compare), so the detector needs no scipy.
    half = width // 2
    x = np.arange(-half, width - half, dtype=float)
    vander = x ** np.arange(order + 1).reshape(-1, 1)
    target = np.zeros(order + 1)
    target[order] = float(math.factorial(order))
    return np.linalg.lstsq(vander, target, rcond=None)[0]


#: Frames in the window of :func:`delta` (the features' Δ and Δ², as librosa's default).
DELTA_WIDTH = 9


def delta(x: torch.Tensor, *, width: int = DELTA_WIDTH, order: int = 1) -> torch.Tensor:
    """Local time derivative along the last dimension, as ``librosa.feature.delta``.

    A least-squares (Savitzky-Golay) polynomial of degree ``order`` is fitted over ``width``
    frames around each frame and differentiated ``order`` times. Such a derivative is constant
    over the window, so the first and last ``width // 2`` frames take the value of the nearest
    full window (librosa's ``mode="interp"``).

    Parameters
    ----------
    x : torch.Tensor
        Input ``(..., frames)`` with at least ``width`` frames.
    width : int
        Odd window length in frames (>= 3).
    order : int
        Derivative order (1: delta, 2: delta-delta).
    """
    if width < 3 or width % 2 != 1:
        raise ValueError(f"width must be an odd integer >= 3, got {width}")
    if x.shape[-1] < width:
        raise ValueError(f"delta needs at least {width} frames, got {x.shape[-1]}")
    coeffs = torch.as_tensor(_savgol_coeffs(width, order), dtype=x.dtype, device=x.device)
    inner = (x.unfold(-1, width, 1) * coeffs).sum(-1)
    half = width // 2
    head = inner[..., :1].expand(*inner.shape[:-1], half)
    tail = inner[..., -1:].expand(*inner.shape[:-1], half)
    return torch.cat([head, inner, tail], dim=-1)
