"""The fast inference paths agree with float32 eager on real music, and the GPU batch chooser
keeps to its memory budget.

Tolerance: P(AI) within 1e-3 of float32 eager (issue 15's target) for the float32 fast paths
(folded, compiled, ONNX). The bfloat16 UNet (first level float32) misses that target: with the
shipped width-16 model (2026-12-05), over 302 chunks of the 41 Wesnoth tracks, its P(AI)
differs from float32 by at most 6.5e-3 (99th percentile 3.1e-3, median 3e-5; all-bfloat16 the
same; ``python benchmarks/bf16_blocks.py --tracks 41 --variants "" default``). Its guard here,
on the one chunk the test scores, is 2.5e-3. The notebooks' features are computed on that path (``ArtifactUNet.infer``, bfloat16
on a CPU with AMX), so the published numbers are its own.

The int8 UNet (``precision="int8"``, :mod:`artifactnet_core.detector.int8`; ``auto`` on a CPU
with VNNI and without fast bfloat16) is lossier: on the one chunk scored here its P(AI) differs from float32 eager by
9.0e-3 and its mask by at most 0.035 (shipped width-16 model, 2026-12-06); the guards are 0.015
and 0.06, far below what a wrongly wired block does (tenths). What it does to the zero-shot
verdict is measured by ``benchmarks/precision_auc.py --precision int8``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import music_like

from artifactnet_core.detector.classifier import CompactCNN
from artifactnet_core.detector.int8 import int8_available, quantize_uint8
from artifactnet_core.detector.layers import (
    _fused_conv_relu,
    _fused_conv_relu_works,
    conv2d_relu,
)
from artifactnet_core.detector.model import (
    INFERENCE_MEMORY_BUDGET,
    ArtifactNet,
    ArtifactNetConfig,
    chunk_inference_bytes,
    default_weights,
    inference_batch_size,
    load_model,
    save_model,
)
from artifactnet_core.detector.spectral import hpss
from artifactnet_core.detector.unet import ArtifactUNet, upsample_bilinear

#: A recording shipped by Debian (wesnoth-1.16-music, installed by `make sysdeps`).
REAL_MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music/battle.ogg")
P_TOLERANCE = 1e-3
BF16_P_TOLERANCE = 2.5e-3
INT8_P_TOLERANCE = 0.015
INT8_MASK_TOLERANCE = 0.06
SR = 44_100
CHUNK = 176_400


@pytest.fixture(scope="module")
def chunks() -> torch.Tensor:
    """Two 4 s chunks of real music (synthetic music where the package is missing)."""
    if REAL_MUSIC.is_file():
        from artifactnet_core.detector.audio import iter_audio

        blocks, total = [], 0
        for block in iter_audio(REAL_MUSIC, sr=SR):
            blocks.append(block)
            total += block.size
            if total >= 12 * SR:
                break
        audio = np.concatenate(blocks)[4 * SR:12 * SR]
    else:
        audio = music_like(8.0, seed=3)
    return torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32).reshape(2, CHUNK))


@pytest.fixture(scope="module")
def trained() -> ArtifactNet:
    """The shipped (trained) detector, or a small seeded one where none is shipped."""
    weights = default_weights()
    if weights is not None:
        return load_model(weights)
    torch.manual_seed(0)
    return ArtifactNet(ArtifactNetConfig(unet_base_width=8)).eval()


def eager_fp32(model: ArtifactNet, audio: torch.Tensor) -> torch.Tensor:
    """The reference: float32 modules in turn, batch norm as layers (no folding)."""
    with torch.no_grad():
        mag = model.spectrogram(audio)
        return proba_from_residual(model, mag, model.unet(mag))


def proba_from_residual(model: ArtifactNet, mag: torch.Tensor,
                        residual: torch.Tensor) -> torch.Tensor:
    """P(AI) from a magnitude and a residual, through the featurizer and the CNN's modules."""
    with torch.no_grad():
        return torch.sigmoid(model.classify_base(model.featurizer.base_maps(mag, residual)))


needs_int8 = pytest.mark.skipif(not int8_available(),
                                reason="no accurate oneDNN int8 convolutions here (VNNI or AMX)")
#: Per lossy path: bound on |dP| from float32 eager, and on the mask's change (|dR| / |X|).
LOSSY_TOLERANCES = {"bf16": (BF16_P_TOLERANCE, 0.02),
                    "int8": (INT8_P_TOLERANCE, INT8_MASK_TOLERANCE)}


@pytest.mark.parametrize("precision", ["bf16", pytest.param("int8", marks=needs_int8)])
def test_lossy_and_folded_paths_match_fp32_eager_on_real_music(trained, chunks, precision):
    # One chunk, and each UNet runs once per precision (bfloat16 is emulated, and slow, on CPUs
    # without AVX-512 BF16: two chunks took 141 s of CI on a 2-core AMD EPYC): the eager
    # residual gives the reference P(AI) as eager_fp32 does, and the lossy residual goes
    # through the same featurizer and CNN as predict_proba's.
    chunks = chunks[:1]
    mag = trained.spectrogram(chunks)
    with torch.no_grad():
        r_ref = trained.unet(mag)
        r_lossy = trained.unet.infer(mag, precision=precision)
    ref = proba_from_residual(trained, mag, r_ref)
    lossy = proba_from_residual(trained, mag, r_lossy)
    folded = trained.predict_proba(chunks, precision="fp32")
    assert float((folded - ref).abs().max()) < 1e-5
    p_tolerance, mask_tolerance = LOSSY_TOLERANCES[precision]
    assert float((lossy - ref).abs().max()) < p_tolerance
    # The residual itself stays close, not just the score: the mask (R / |X|, bounded by 0.5)
    # moves by less than its bound anywhere. A block in the wrong precision or layout moves it
    # by tenths; bfloat16's rounding moved it by at most 0.0087 on this chunk with the shipped
    # width-16 model of 2026-12-05 (3.6e-3 of the loudest bin, where an earlier bound of
    # 2e-3 x max|X| was set on the width-32 model), int8's by 0.035 (2026-12-06).
    assert bool(((r_lossy - r_ref).abs() <= mask_tolerance * mag).all())


@needs_int8
def test_int8_path_scores_each_chunk_on_its_own():
    torch.manual_seed(0)
    unet = ArtifactUNet(base_width=4).eval()
    mag = torch.rand(3, 100, 70) ** 4 * 30  # an odd size: padded to 16, then cropped back
    mag[1] *= 1e-3  # a quiet chunk: its own scales, not its loud neighbours'
    batch = unet.infer(mag, precision="int8")
    items = torch.cat([unet.infer(mag[i:i + 1], precision="int8") for i in range(3)])
    assert torch.equal(batch, items)
    assert torch.equal(batch, unet.infer(mag, precision="int8"))
    reference = unet.infer(mag, precision="fp32")
    assert bool(((batch - reference).abs() <= INT8_MASK_TOLERANCE * mag).all())
    assert float((batch - reference).abs().max()) > 0  # it did run in int8
    with torch.no_grad():
        unet.head.bias.add_(3.0)  # in place: the int8 weights follow
    assert not torch.allclose(unet.infer(mag, precision="int8"), batch)


@needs_int8
def test_int8_path_keeps_nan_and_refuses_other_devices():
    unet = ArtifactUNet(base_width=2).eval()
    mag = torch.rand(2, 32, 32)
    mag[0, 3, 4] = float("nan")
    assert bool(torch.isnan(unet.infer(mag, precision="int8")[0]).any())
    with pytest.raises(ValueError, match="int8 inference needs"):
        unet.infer(torch.rand(1, 32, 32, device="meta"), precision="int8")


@pytest.mark.parametrize(("bf16", "int8", "expected"), [
    (True, True, "bf16"),    # a GPU or an x86 CPU with AMX: bfloat16 first
    (False, True, "int8"),   # a CPU with VNNI and no AMX
    (False, False, "fp32"),  # anything else
])
def test_auto_precision_prefers_bf16_then_int8(monkeypatch, bf16, int8, expected):
    from artifactnet_core.detector import unet as unet_module

    monkeypatch.setattr(unet_module, "fast_bf16", lambda device: bf16)
    monkeypatch.setattr(unet_module, "fast_int8", lambda device: int8)
    assert unet_module.resolve_precision("cpu") == expected
    assert unet_module.resolve_precision("cpu", "fp32") == "fp32"  # asked for by name
    assert unet_module.inference_path("cpu") == {
        "bf16": "bf16-fp32-first-level", "int8": "int8-dynamic", "fp32": "fp32"}[expected]
    assert unet_module.inference_dtype("cpu") == (torch.bfloat16 if bf16 else torch.float32)


def test_auto_int8_follows_the_cpu_and_its_switch(monkeypatch):
    from artifactnet_core.detector.int8 import fast_int8

    monkeypatch.delenv("ARTIFACTNET_INT8", raising=False)
    assert fast_int8("cpu") is int8_available()
    assert not fast_int8("meta")  # int8 runs on the CPU only
    monkeypatch.setenv("ARTIFACTNET_INT8", "0")
    assert not fast_int8("cpu")


@needs_int8
def test_auto_runs_the_int8_path_where_it_resolves_to_it(monkeypatch):
    from artifactnet_core.detector import unet as unet_module

    monkeypatch.setattr(unet_module, "fast_bf16", lambda device: False)
    monkeypatch.delenv("ARTIFACTNET_INT8", raising=False)
    torch.manual_seed(0)
    unet = ArtifactUNet(base_width=4).eval()
    mag = torch.rand(2, 64, 40) ** 4 * 30
    assert torch.equal(unet.infer(mag), unet.infer(mag, precision="int8"))
    graphs = []  # a compiled UNet's auto runs its (float) graph, which cannot do int8
    unet._compiled = lambda x, dtype: graphs.append(dtype) or unet._infer(x, dtype)
    assert torch.equal(unet.infer(mag), unet.infer(mag, precision="fp32"))
    assert graphs == [torch.float32, torch.float32]
    unet._compiled = None
    monkeypatch.setenv("ARTIFACTNET_INT8", "0")
    assert torch.equal(unet.infer(mag), unet.infer(mag, precision="fp32"))


def test_quantize_uint8_rounds_to_its_scale():
    x = torch.rand(1, 3, 9, 7) * 5
    q = quantize_uint8(x)
    assert q.values.dtype == torch.uint8 and int(q.values.max()) == 255
    assert float((q.values.float() * q.scale - x).abs().max()) <= q.scale / 2 * (1 + 1e-6)
    assert quantize_uint8(torch.zeros(1, 2, 3, 3)).scale == 1.0
    assert torch.equal(quantize_uint8(x, 1.0).values, x.round().to(torch.uint8))


def test_folded_weights_follow_the_parameters():
    torch.manual_seed(0)
    unet = ArtifactUNet(base_width=2).eval()
    mag = torch.rand(1, 64, 40)
    before = unet.infer(mag, precision="fp32")
    with torch.no_grad():
        unet.head.bias.add_(3.0)  # in place, as an optimiser step or load_state_dict does
    after = unet.infer(mag, precision="fp32")
    with torch.no_grad():
        assert torch.allclose(after, unet(mag), atol=1e-6)
    assert not torch.allclose(before, after)


def test_classifier_inference_path_matches_its_modules():
    torch.manual_seed(0)
    net = CompactCNN(widths=(8, 16, 16, 32), hidden=8).eval()
    for module in net.modules():  # batch norms with statistics far from the identity
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.normal_()
            module.bias.data.normal_()
    features = torch.randn(3, 7, 64, 90)
    modules = net._pool_and_head(net.body(features)).detach()
    with torch.no_grad():
        fast = net(features)
        assert torch.equal(fast, net.infer(features))
        np.testing.assert_allclose(fast, modules, rtol=0, atol=1e-5)
        net.body[1].weight.mul_(-1.0)  # in place: the folded weights must follow
        assert not torch.allclose(net(features), fast, atol=1e-3)
    net.train()
    assert net(features).requires_grad  # training runs the modules


def test_precision_is_validated():
    with pytest.raises(ValueError, match="precision"):
        ArtifactUNet(base_width=2).eval().infer(torch.rand(1, 16, 16), precision="fp8")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_convolution_relu_is_bit_identical(dtype):
    # The folded UNet's conv + ReLU runs as one oneDNN call on the CPU: the cached feature maps
    # of earlier runs stay valid only if it gives the very same bits as the two ops.
    if not _fused_conv_relu_works(dtype):
        pytest.skip(f"oneDNN's fused convolution + ReLU in {dtype} is not available here")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 24, 40, 33, generator=gen).to(dtype)
    weight = (0.2 * torch.randn(8, 24, 3, 3, generator=gen)).to(dtype)
    bias = torch.randn(8, generator=gen).to(dtype)
    for layout in (torch.contiguous_format, torch.channels_last):
        xs, ws = x.contiguous(memory_format=layout), weight.contiguous(memory_format=layout)
        expected = torch.nn.functional.conv2d(xs, ws, bias, padding=(1, 1)).relu_()
        fused = _fused_conv_relu(xs, ws, bias, (1, 1))
        assert (fused == 0).any() and (fused > 0).any()
        assert torch.equal(fused, expected)
        assert torch.equal(conv2d_relu(xs, ws, bias, (1, 1)), expected)


def test_split_upsampling_equals_one_call():
    y = torch.randn(5, 3, 7, 9).contiguous(memory_format=torch.channels_last)
    whole = upsample_bilinear(y, (14, 18))
    split = upsample_bilinear(y, (14, 18), max_elements=2 * 3 * 14 * 18)
    assert torch.equal(whole, split)
    assert split.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("free_gib", [0.5, 1.2, 3, 8, 17, 40, 80])
@pytest.mark.parametrize("budget_gib", [2, 16])
def test_batch_chooser_never_exceeds_its_budget(free_gib, budget_gib):
    config = ArtifactNetConfig()
    free, budget = int(free_gib * 2**30), int(budget_gib * 2**30)
    batch = inference_batch_size(config, "cuda", precision="bf16", free_bytes=free,
                                 budget_bytes=budget)
    per_chunk = chunk_inference_bytes(config, dtype=torch.bfloat16)
    allowed = min(budget, 0.9 * free)
    assert batch >= 1
    if batch > 1:
        assert 2**30 + batch * per_chunk <= allowed
    # One more chunk would not have fitted (the chooser uses its budget), unless a cap applied:
    # no activation may reach 2**31 elements (the top up-block's input has 96 channels).
    by_index = (2**31 - 1) // (96 * 1040 * 352)
    assert 2**30 + (batch + 1) * per_chunk > allowed or batch == by_index


def test_default_budget_is_16_gib_and_respects_the_index_limit():
    config = ArtifactNetConfig()
    batch = inference_batch_size(config, "cuda", precision="bf16", free_bytes=80 * 2**30)
    assert 2**30 + batch * chunk_inference_bytes(config) <= INFERENCE_MEMORY_BUDGET
    # No activation reaches 2**31 elements: the top up-block's input has 96 channels.
    assert batch * 96 * 1040 * 352 < 2**31
    fp32 = inference_batch_size(config, "cuda", precision="fp32", free_bytes=80 * 2**30)
    assert fp32 < batch


@pytest.fixture(scope="module")
def small_exported(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from artifactnet_core.cli import main

    torch.manual_seed(1)
    # A short HPSS kernel keeps the export quick; the 31-tap network is the same code.
    model = ArtifactNet(ArtifactNetConfig(unet_base_width=4, hpss_kernel=5)).eval()
    root = tmp_path_factory.mktemp("onnx")
    weights = save_model(model, root / "small.safetensors")
    out = root / "small.onnx"
    assert main(["export", "--onnx", str(out), "--weights", str(weights)]) == 0
    return model, out


def test_onnx_export_matches_torch_on_real_music(small_exported, chunks):
    from artifactnet_core.detector.export import OnnxDetector

    model, path = small_exported
    detector = OnnxDetector(path, threads=1)
    assert detector.config == model.config
    got = detector.predict_proba(chunks.numpy(), batch=2)
    one_by_one = detector.predict_proba(chunks.numpy(), batch=1)  # the batch size is free
    ref = eager_fp32(model, chunks).numpy()
    assert got.shape == (2,)
    assert np.abs(got - ref).max() < 1e-4
    assert np.abs(one_by_one - got).max() < 1e-6


def test_onnx_detector_refuses_foreign_files(tmp_path):
    pytest.importorskip("onnxruntime")
    from artifactnet_core.detector.export import OnnxDetector

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a graph")
    with pytest.raises(ValueError, match="bad.onnx"):
        OnnxDetector(bad)


@pytest.mark.slow
def test_compiled_model_matches_fp32_eager(chunks):
    """torch.compile of the inference UNet and HPSS (a minute or two of compiling on 2 cores;
    a 7-tap HPSS keeps the median program, and so the compile, small)."""
    torch.manual_seed(2)
    model = ArtifactNet(ArtifactNetConfig(unet_base_width=4, hpss_kernel=7)).eval()
    mag = model.spectrogram(chunks[:1])
    with torch.no_grad():
        ref = model.unet(mag)
        split_ref = hpss(ref, kernel_size=7)
    model.compile_inference()
    got = model.unet.infer(mag)
    with torch.no_grad():
        split_got = model.featurizer.split(ref)
    p_got = model.predict_proba(chunks[:1])
    assert float((got - ref).abs().max()) < 2e-3 * float(mag.max())
    for part_got, part_ref in zip(split_got, split_ref, strict=True):  # float32 rounding only
        assert float((part_got - part_ref).abs().max()) <= 1e-6 * float(ref.max())
    assert float((p_got - eager_fp32(model, chunks[:1])).abs().max()) < P_TOLERANCE
    model.compile_inference(enable=False)
    assert model.featurizer._compiled_split is None and model.unet._compiled is None
    assert model.unet._compiled is None


def test_training_autocast_follows_fast_bf16(monkeypatch):
    # Training forward passes run in bfloat16 exactly where the detector's inference path does
    # (runtime.fast_bf16); ARTIFACTNET_BF16=0 keeps both in float32, bit for bit; the cache key
    # of a trained model names the precision, so the two kinds of weights are never mixed.
    from artifactnet_core.runtime import fast_bf16, training_autocast, training_precision

    unet = ArtifactUNet(base_width=4)
    mag = torch.rand(1, 1025, 32)
    cpu = torch.device("cpu")
    with training_autocast(cpu):
        assert torch.is_autocast_enabled("cpu") == fast_bf16(cpu)
        residual = unet(mag, ArtifactUNet.chunk_scale(mag))
    assert training_precision(cpu) == ("bf16" if fast_bf16(cpu) else "fp32")
    monkeypatch.setenv("ARTIFACTNET_BF16", "0")
    assert training_precision(cpu) == "fp32" and not fast_bf16(cpu)
    with training_autocast(cpu):
        assert not torch.is_autocast_enabled("cpu")
        residual = unet(mag, ArtifactUNet.chunk_scale(mag))
    assert residual.dtype == torch.float32
    torch.testing.assert_close(residual, unet(mag, ArtifactUNet.chunk_scale(mag)), rtol=0, atol=0)


def test_gpu_benchmark_script_runs_its_quick_check():
    # The GPU benchmark goes to a bare CUDA machine with a few minutes of device time: its
    # --quick mode (small model, also on a CPU) must run through every section here first.
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for section in ("1. batched paths", "2. end to end", "3. UNet training step"):
        assert section in done.stdout, section


def test_allocator_benchmark_gives_the_same_p_ai_under_both_allocators():
    # benchmarks/allocator.py runs each allocator in its own child (and refuses a child that
    # ran under the other one); the allocator must not change a bit of P(AI).
    import subprocess
    import sys

    from artifactnet_core.allocator import tcmalloc_library

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "allocator.py"
    done = subprocess.run([sys.executable, str(script), "--only", "predict auto, width 16",
                           "--rounds", "1", "--repeat", "1"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    if tcmalloc_library() is None:
        assert "no tcmalloc" in done.stdout
        return
    row = next(line for line in done.stdout.splitlines() if line.startswith("predict auto"))
    assert row.split()[-1] == "0.0e+00", row  # max |dP| between the two children


@pytest.mark.parametrize(("machine", "onednn", "amx", "setting", "expected"), [
    ("x86_64", True, True, "", True),      # AMX: bfloat16 ~6x the float32 matmul rate
    ("x86_64", True, False, "", False),    # AVX-512 BF16 alone: slower than float32
    ("x86_64", True, False, "1", True),    # asked for, to measure with make speed
    ("x86_64", True, True, "0", False),    # turned off
    ("x86_64", False, False, "1", False),  # oneDNN has no bfloat16 kernels to turn on
    ("aarch64", True, False, "", True),    # Arm with BF16: oneDNN's word
])
def test_cpu_bf16_needs_amx_on_x86(monkeypatch, machine, onednn, amx, setting, expected):
    # runtime.fast_bf16 picks the CPU's precision for the UNet's inference path and training:
    # on x86 only AMX makes bfloat16 faster than float32 (benchmarks/README.md, 2026-12-06).
    from artifactnet_core import runtime

    monkeypatch.setattr(runtime.platform, "machine", lambda: machine)
    monkeypatch.setattr(runtime, "onednn_bf16", lambda: onednn)
    monkeypatch.setattr(runtime, "cpu_has_amx", lambda: amx)
    monkeypatch.setenv("ARTIFACTNET_BF16", setting)
    assert runtime.fast_bf16("cpu") is expected
    assert runtime.training_precision("cpu") == ("bf16" if expected else "fp32")
