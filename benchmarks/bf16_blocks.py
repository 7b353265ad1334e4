"""Where does bfloat16 move P(AI)? The UNet's inference path with chosen blocks kept in float32.

For the shipped detector and real music (Wesnoth tracks, installed by ``make sysdeps``), prints
for each variant the largest, 99th-percentile and median ``|P_variant - P_fp32|`` over 4 s
chunks, and the seconds per chunk. Variants name the UNet blocks that stay float32 (``inc``:
the first level's two convolutions, ``down0..3``, ``up0..3``, ``head``: the 1x1 output
convolution); the rest runs in bfloat16, the input rounded to bfloat16 first. ``default`` is
``ArtifactUNet.infer(precision="bf16")`` itself, whose first level (input included) stays
float32.

    python benchmarks/bf16_blocks.py --tracks 15 --variants "" default inc,up3

On a CPU without AVX-512 BF16 the bfloat16 convolutions are emulated (slow), but they round as
the native ones do, so the differences still hold; the times do not.
"""

from __future__ import annotations

import argparse
import glob
import time

import numpy as np
import torch

from artifactnet_core.detector.api import default_weights, load_model
from artifactnet_core.detector.audio import load_audio
from artifactnet_core.detector.chunking import split_chunks
from artifactnet_core.detector.config import CHUNK_SAMPLES, SAMPLE_RATE

MUSIC = "/usr/share/games/wesnoth/1.16/data/core/music/*.ogg"


class _Float32:
    """A folded block run in float32 between bfloat16 neighbours."""

    def __init__(self, block):
        self.block = block

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x.float()).to(x.dtype)


def _blocks(unet, keep: set[str]):
    bf16 = unet._fold(torch.bfloat16, float32_first_level=False)
    fp32 = unet._fold(torch.float32)
    inc = _Float32(fp32[0]) if "inc" in keep else bf16[0]
    down = [_Float32(fp32[1][k]) if f"down{k}" in keep else bf16[1][k] for k in range(4)]
    up = [_Float32(fp32[2][k]) if f"up{k}" in keep else bf16[2][k] for k in range(4)]
    head = _Float32(fp32[3]) if "head" in keep else bf16[3]
    return inc, down, up, head


@torch.no_grad()
def _residual(unet, mag: torch.Tensor, keep: set[str] | str | None) -> torch.Tensor:
    if keep is None or keep == "default":
        return unet.infer(mag, precision="fp32" if keep is None else "bf16")
    return unet._infer(mag, torch.bfloat16, _blocks(unet, keep))


@torch.no_grad()
def _proba(model, audio: torch.Tensor, keep: set[str] | str | None,
           batch: int = 4) -> torch.Tensor:
    out = []
    for start in range(0, len(audio), batch):
        mag = model.spectrogram(audio[start:start + batch])
        residual = _residual(model.unet, mag, keep)
        out.append(torch.sigmoid(model.classify_base(model.featurizer.base_maps(mag, residual))))
    return torch.cat(out).flatten()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=32.0, help="per track")
    parser.add_argument("--variants", nargs="*", default=["", "default", "inc,up3"],
                        help="comma-separated float32 blocks per variant ('' = all bfloat16, "
                             "'default' = the bf16 path as shipped: first level float32)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(default_weights())
    files = sorted(glob.glob(MUSIC))[: args.tracks]
    audio = torch.from_numpy(np.concatenate([
        split_chunks(load_audio(path)[: int(args.seconds * SAMPLE_RATE)], CHUNK_SAMPLES)
        for path in files]))
    print(f"{len(files)} tracks, {len(audio)} chunks, {torch.get_num_threads()} threads")
    ref = _proba(model, audio, None)
    for variant in args.variants:
        keep = variant if variant == "default" else {b for b in variant.split(",") if b}
        t0 = time.perf_counter()
        p = _proba(model, audio, keep)
        seconds = (time.perf_counter() - t0) / len(audio)
        d = (p - ref).abs()
        label = ("infer(precision='bf16')" if keep == "default"
                 else f"float32 blocks {sorted(keep) or '(none)'}")
        print(f"{label}: max |dP| {d.max():.2e}, "
              f"p99 {d.quantile(0.99):.2e}, median {d.median():.2e}; {seconds:.2f} s/chunk")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
