"""The detector's architecture as the paper describes it, and its checkpoints."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from artifactnet_core.detector.classifier import CompactCNN
from artifactnet_core.detector.features import CHANNEL_NAMES, ForensicFeaturizer
from artifactnet_core.detector.model import (
    ArtifactNet,
    ArtifactNetConfig,
    aggregate_chunks,
    load_model,
    save_model,
)
from artifactnet_core.detector.unet import ArtifactUNet

CHUNK = 176_400


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_paper():
    model = ArtifactNet()
    counts = model.parameter_counts()
    assert abs(counts["unet"] - 3.6e6) <= 0.05 * 3.6e6, counts
    assert abs(counts["classifier"] - 0.4e6) <= 0.10 * 0.4e6, counts
    assert abs(counts["total"] - 4.0e6) <= 0.05 * 4.0e6, counts


@pytest.mark.parametrize("bound", [0.5, 1.0])
def test_mask_is_bounded(bound):
    torch.manual_seed(0)
    unet = ArtifactUNet(base_width=4, mask_bound=bound)
    # Push the logits to both extremes: the mask must still stay in [0, bound].
    with torch.no_grad():
        unet.head.bias.fill_(50.0)
    mag = torch.rand(2, 1025, 40) * 10
    mask = unet.mask(mag)
    assert mask.shape == mag.shape
    assert float(mask.min()) >= 0.0 and float(mask.max()) <= bound
    assert float(mask.max()) > 0.99 * bound
    residual = unet(mag)
    assert torch.all(residual <= bound * mag + 1e-6)


def test_unbounded_mask_can_exceed_one():
    unet = ArtifactUNet(base_width=4, mask_bound=None)
    with torch.no_grad():
        unet.head.bias.fill_(5.0)
    assert float(unet.mask(torch.rand(1, 64, 32)).min()) > 1.0


def test_unet_handles_odd_sizes_and_is_gain_invariant():
    unet = ArtifactUNet(base_width=4).eval()
    mag = torch.rand(1, 1025, 37) + 0.01
    with torch.no_grad():
        m1, m2 = unet.mask(mag), unet.mask(mag * 100.0)
    assert m1.shape == mag.shape
    torch.testing.assert_close(m1, m2, rtol=1e-4, atol=1e-5)


def test_featurizer_shapes_and_channels():
    feat = ForensicFeaturizer()
    mag = torch.rand(3, 1025, 345)
    out = feat(mag, 0.3 * mag)
    assert out.shape == (3, 7, 128, 345)
    assert feat.channels == CHANNEL_NAMES
    mel_r, mel_h, mel_p, d_r, _, h_minus_p, abs_d = out[0]
    torch.testing.assert_close(h_minus_p, mel_h - mel_p)
    torch.testing.assert_close(abs_d, d_r.abs())
    # Shared reference: R = 0.3 |X| sits 20 log10(0.3) = -10.5 dB under |X|'s loudest bin.
    assert float(mel_r.max()) == pytest.approx(20 * torch.log10(torch.tensor(0.3)).item(),
                                               abs=0.05)
    assert float(mel_r.min()) >= -80.0


@pytest.mark.parametrize("feature_set,channels", [("residual3", 3), ("residual1", 1)])
def test_feature_set_ablations(feature_set, channels):
    feat = ForensicFeaturizer(feature_set=feature_set)
    assert feat(torch.rand(1, 1025, 50), torch.rand(1, 1025, 50)).shape == (1, channels, 128, 50)


@pytest.mark.parametrize("frames, length", [(345, 128), (20, 1), (9, 3)])
def test_window_channels_equal_cropped_channels(frames, length):
    """The classifier featurizes only its crop (plus the deltas' context): every start gives
    exactly the channels of featurizing all frames and cropping."""
    feat = ForensicFeaturizer()
    base = torch.randn(2, 3, 16, frames) * 20 - 40
    full = feat.channels_from_base(base)
    for start in range(frames - length + 1):
        lo, hi = feat.context(start, length, frames)
        assert 0 <= lo <= start and start + length <= hi <= frames
        part = feat.channels_from_base(base[..., lo:hi])[..., start - lo:start - lo + length]
        torch.testing.assert_close(part, full[..., start:start + length], rtol=0, atol=0)
    with pytest.raises(ValueError, match="outside"):
        feat.context(frames - length + 1, length, frames)


@pytest.mark.parametrize("shape", [(2, 3, 16, 22), (1, 4, 17, 9), (3, 2, 4, 5)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_max_pool_2x2_is_max_pool2d(shape, channels_last):
    # The fast path (no gradients) gives max_pool2d's values exactly, odd sizes and layout
    # included; with gradients it is max_pool2d, backward and all.
    import torch.nn.functional as F

    from artifactnet_core.detector.layers import max_pool_2x2

    x = torch.randn(shape)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        out = max_pool_2x2(x)
    assert torch.equal(out, F.max_pool2d(x, 2))
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last
    x.requires_grad_()
    max_pool_2x2(x).sum().backward()
    grad = x.grad.clone()
    x.grad = None
    F.max_pool2d(x, 2).sum().backward()
    assert torch.equal(grad, x.grad)


def test_classifier_output_shape():
    assert CompactCNN()(torch.randn(4, 7, 128, 345)).shape == (4,)


def test_gradients_flow_end_to_end():
    torch.manual_seed(0)
    model = ArtifactNet(ArtifactNetConfig(unet_base_width=4))
    audio = torch.randn(2, CHUNK) * 0.1
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(audio),
                                                                torch.tensor([0.0, 1.0]))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.unet.inc.block[0].weight.grad.abs().sum() > 0
    assert model.unet.head.weight.grad.abs().sum() > 0


def test_no_unet_ablation_reads_the_magnitude():
    model = ArtifactNet(ArtifactNetConfig(use_unet=False))
    assert model.unet is None and model.parameter_counts()["unet"] == 0
    mag = torch.rand(1, 1025, 20)
    assert torch.equal(model.residual(mag), mag)


def test_save_load_roundtrip(tmp_path):
    torch.manual_seed(1)
    model = ArtifactNet(ArtifactNetConfig(unet_base_width=4, threshold=0.37)).eval()
    audio = torch.randn(2, CHUNK) * 0.1
    path = save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(path)
    assert loaded.config.threshold == 0.37
    torch.testing.assert_close(loaded.predict_proba(audio), model.predict_proba(audio))
    half = load_model(save_model(model, tmp_path / "h.safetensors", half=True))
    torch.testing.assert_close(half.predict_proba(audio), model.predict_proba(audio),
                               atol=2e-2, rtol=0)


class _Boom:
    def __reduce__(self):
        return (exec, ("raise SystemExit('unpickled!')",))


def test_loading_never_unpickles(tmp_path):
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(_Boom()))
    path.with_suffix(".json").write_text(json.dumps({}))
    with pytest.raises(Exception) as info:
        load_model(path)
    assert not isinstance(info.value, SystemExit)


def test_config_rejects_unknown_keys(tmp_path):
    with pytest.raises(ValueError, match="unknown config keys"):
        ArtifactNetConfig.from_dict({"bogus": 1})


def test_aggregation():
    assert aggregate_chunks([0.1, 0.9, 0.8]) == pytest.approx(0.8)
    assert aggregate_chunks([0.0, 1.0], method="rms_weighted", weights=[1.0, 3.0]) == 0.75
    with pytest.raises(ValueError):
        aggregate_chunks([])
