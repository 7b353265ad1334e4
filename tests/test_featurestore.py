"""The feature store's cached maps do not depend on the history of the cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import music_like

from artifactnet_core.detector.model import ArtifactNet, ArtifactNetConfig
from artifactnet_core.experiments.featurestore import FeatureStore


class _Clips:
    """What the store needs of a benchmark: decoded clip versions by (path, version)."""

    def __init__(self, arrays: dict):
        self.arrays = arrays

    def load(self, items):
        return {item: self.arrays[item] for item in items}


@pytest.fixture(scope="module")
def clips():
    items = [(f"clip{k}.flac", "wav") for k in range(5)]
    return _Clips({item: music_like(4.0, seed=k).astype(np.float32)
                   for k, item in enumerate(items)}), items


class _PassSize(torch.nn.Module):
    """An extractor whose maps hold the number of chunks in their forward pass: the last bits
    of the real UNet's outputs depend on it (not on which chunks share the pass)."""

    def __init__(self):
        super().__init__()
        self.config, self.unet = ArtifactNetConfig(), None

    def base_maps(self, audio: torch.Tensor, *, precision: str = "auto") -> torch.Tensor:
        return torch.full((audio.shape[0], 3, 2, 2), float(audio.shape[0]))


def test_maps_do_not_depend_on_which_clips_were_cached_before(clips, tmp_path):
    data, items = clips
    first = FeatureStore(data, _PassSize(), "x", cache_root=tmp_path / "a", batch_size=4)
    first.maps(items[:4], progress=False)             # one full pass ...
    maps_a, _ = first.maps(items, progress=False)     # ... then the last clip alone
    second = FeatureStore(data, _PassSize(), "x", cache_root=tmp_path / "b", batch_size=4)
    second.maps(items[1:], progress=False)            # the last clip in a full pass
    maps_b, _ = second.maps(items, progress=False)
    assert np.array_equal(maps_a, maps_b)
    assert (maps_a == 4).all()


def test_base_maps_of_a_chunk_do_not_depend_on_its_batch_or_threads(clips):
    # On the CPU a batch of two or more goes chunk by chunk, each single-threaded: a chunk's
    # maps are the same bits in a batch of two or of four, on one thread or two, and close to
    # one pass of the whole batch on two threads (the path before, and still the GPU's).
    data, items = clips
    torch.manual_seed(0)
    model = ArtifactNet(ArtifactNetConfig(unet_base_width=4)).eval()
    audio = torch.from_numpy(np.stack([data.arrays[item] for item in items[:4]]))
    threads = torch.get_num_threads()
    try:
        with torch.no_grad():
            torch.set_num_threads(2)
            four = model.base_maps(audio)
            two = model.base_maps(audio[:2])
            mag = model.spectrogram(audio)
            one_pass = model.featurizer.base_maps(mag, model.residual(mag))
            torch.set_num_threads(1)
            four_on_one = model.base_maps(audio)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(four[:2], two) and torch.equal(four, four_on_one)
    assert torch.allclose(four, one_pass, atol=1e-2)


def test_each_precision_has_its_own_folder(clips, tmp_path):
    data, items = clips
    model = ArtifactNet(ArtifactNetConfig(unet_base_width=4)).eval()
    store = FeatureStore(data, model, "unet-x", cache_root=tmp_path, batch_size=2)
    fp32 = store.at_precision("fp32")
    assert fp32.root.parent == store.root.parent and fp32.root.name == "unet-x-fp32"
    assert fp32.ledger is None and fp32.precision == "fp32"
    maps, owner = fp32.maps(items[:3], progress=False)
    assert maps.shape[0] == 3 and owner.tolist() == [0, 1, 2]
    assert sorted(p.name for p in (tmp_path / "unet-x-fp32" / "wav").iterdir()) == \
        ["clip0.npy", "clip1.npy", "clip2.npy"]
    no_unet = FeatureStore(data, ArtifactNet(ArtifactNetConfig(use_unet=False)).eval(),
                           "magnitude", cache_root=tmp_path)
    assert no_unet.root.name == "magnitude"
