"""The torch spectral ops agree with librosa, the reference implementation."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch
from conftest import music_like

from artifactnet_core.detector import spectral as S

SR = 44_100


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    return music_like(4.0, seed=21)


@pytest.fixture(scope="module")
def mag_ref(signal) -> np.ndarray:
    return np.abs(librosa.stft(signal, n_fft=2048, hop_length=512, center=True,
                               pad_mode="reflect"))


def rel_err(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b)))


def test_stft_matches_librosa(signal, mag_ref):
    mag = S.magnitude(torch.from_numpy(signal)).numpy()
    assert mag.shape == (1025, 345) == mag_ref.shape
    assert rel_err(mag, mag_ref) < 1e-5


def test_stft_is_batched_and_invertible(signal):
    x = torch.from_numpy(np.stack([signal, signal[::-1].copy()]))
    spec = S.stft(x)
    assert spec.shape == (2, 1025, 345) and spec.is_complex()
    np.testing.assert_allclose(S.magnitude(x[1]).numpy(), spec[1].abs().numpy(), rtol=1e-5,
                               atol=1e-5)
    y = S.istft(spec, length=x.shape[-1])
    assert torch.max(torch.abs(y - x)) < 1e-5


@pytest.mark.parametrize("frames", [slice(0, 64), slice(100, 164), slice(281, 345),
                                    slice(340, 400), slice(7, 8)])
def test_stft_of_some_frames_equals_the_whole_transform_sliced(signal, frames):
    # The UNet's training reference is transformed on its crop's frames alone (notebook 03):
    # it must be the whole transform's frames exactly, at the reflected edges too.
    x = torch.from_numpy(np.stack([signal, signal[::-1].copy()]))
    whole = S.stft(x)
    part = S.stft(x, frames=frames)
    assert torch.equal(part, whole[..., frames])
    assert torch.equal(S.magnitude(x, frames=frames), whole.abs()[..., frames])
    with pytest.raises(ValueError, match="contiguous"):
        S.stft(x, frames=slice(0, 10, 2))


def test_mel_filterbank_matches_librosa():
    ours = S.mel_filterbank(sr=SR, n_fft=2048, n_mels=128).numpy()
    ref = librosa.filters.mel(sr=SR, n_fft=2048, n_mels=128)
    assert rel_err(ours, ref) < 1e-5


def test_melspectrogram_and_db_match_librosa(signal, mag_ref):
    power = S.mel_power(torch.from_numpy(mag_ref), S.mel_filterbank())
    ref = librosa.feature.melspectrogram(y=signal, sr=SR, n_fft=2048, hop_length=512,
                                         n_mels=128, pad_mode="reflect")
    assert rel_err(power.numpy(), ref) < 1e-4
    db = S.power_to_db(power, ref=power.max(), top_db=80.0).numpy()
    db_ref = librosa.power_to_db(ref, ref=np.max, top_db=80.0)
    assert np.max(np.abs(db - db_ref)) < 0.01
    assert db.min() == pytest.approx(-80.0)


def test_shared_reference_puts_spectrograms_on_one_scale():
    loud = torch.full((4, 10), 1.0)
    quiet = torch.full((4, 10), 0.01)
    both = S.power_to_db(torch.stack([loud, quiet]), ref=1.0, top_db=80.0)
    assert torch.allclose(both[0], torch.zeros(4, 10))
    assert torch.allclose(both[1], torch.full((4, 10), -20.0))


@pytest.mark.parametrize("kernel", [31, 5])
def test_hpss_matches_librosa(mag_ref, kernel):
    harmonic, percussive = S.hpss(torch.from_numpy(mag_ref), kernel_size=kernel, power=2.0)
    h_ref, p_ref = librosa.decompose.hpss(mag_ref, kernel_size=kernel, power=2.0)
    assert rel_err(harmonic.numpy(), h_ref) < 1e-5
    assert rel_err(percussive.numpy(), p_ref) < 1e-5


def test_hpss_separates_tone_from_click():
    mag = torch.zeros(201, 101)
    mag[50, :] = 1.0   # a steady partial
    mag[:, 70] = 1.0   # a broadband click
    harmonic, percussive = S.hpss(mag, kernel_size=31)
    assert harmonic[50, 10] > 0.99 and percussive[50, 10] < 0.01
    assert percussive[150, 70] > 0.99 and harmonic[150, 70] < 0.01


def test_hpss_is_batched(mag_ref):
    batch = torch.from_numpy(np.stack([mag_ref, mag_ref * 0.5]))
    harmonic, _ = S.hpss(batch)
    np.testing.assert_allclose(harmonic[1].numpy(), 0.5 * harmonic[0].numpy(), rtol=1e-5)


def test_hpss_batch_split_across_threads_is_exact(mag_ref):
    """The CPU path shares a batch's spectrograms out among worker threads
    (runtime.map_batch_single_threaded): same values as one call on the whole batch, in every
    grad mode, and the caller's thread count is left as it was."""
    import threading

    from artifactnet_core.runtime import map_batch_single_threaded

    gen = torch.Generator().manual_seed(3)
    batch = torch.from_numpy(mag_ref)[None, None] * torch.rand(5, 2, 1, 1, generator=gen)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # two parts even on a one-core runner
    try:
        reference = S._hpss(batch, kernel_size=31, power=2.0)
        for mode in (torch.inference_mode, torch.no_grad, torch.enable_grad):
            with mode():
                split = S.hpss(batch)
            assert all(torch.equal(a, b) for a, b in zip(split, reference, strict=True)), mode
        with torch.inference_mode():
            parts = map_batch_single_threaded(
                lambda x: (x.new_full((len(x),), float(torch.get_num_threads())),), batch)[0]
            assert parts.tolist() == [1.0] * len(batch)  # each part ran single-threaded
        assert torch.get_num_threads() == 2
        seen = []
        worker = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        worker.start()
        worker.join()
        assert seen == [2]  # a thread started afterwards gets the caller's count
    finally:
        torch.set_num_threads(threads)


def test_one_at_a_time_hands_fn_single_items():
    """``one_at_a_time``: each thread's part goes to ``fn`` item by item on the CPU, the
    results concatenated in order; with autograd on, ``fn`` gets the whole batch."""
    from artifactnet_core.runtime import map_batch_single_threaded

    x = torch.arange(5.0)[:, None].repeat(1, 3)
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            with torch.no_grad():
                sizes, doubled = map_batch_single_threaded(
                    lambda part: (part.new_full((len(part),), float(len(part))), 2 * part), x,
                    one_at_a_time=True)
            assert sizes.tolist() == [1.0] * 5 and torch.equal(doubled, 2 * x), n
        with torch.enable_grad():
            sizes, = map_batch_single_threaded(
                lambda part: (part.new_full((len(part),), float(len(part))),), x,
                one_at_a_time=True)
        assert sizes.tolist() == [5.0] * 5
    finally:
        torch.set_num_threads(threads)


def test_median_filter_short_signal_matches_scipy():
    from scipy.ndimage import median_filter

    x = np.random.default_rng(0).random((3, 7)).astype(np.float32)
    ours = S.median_filter(torch.from_numpy(x), kernel_size=31, dim=-1).numpy()
    np.testing.assert_allclose(ours, median_filter(x, size=(1, 31), mode="reflect"))


@pytest.mark.parametrize("order", [1, 2])
def test_delta_matches_librosa(order):
    x = np.random.default_rng(1).standard_normal((128, 345)).astype(np.float32)
    ours = S.delta(torch.from_numpy(x), order=order).numpy()
    np.testing.assert_allclose(ours, librosa.feature.delta(x, order=order), atol=1e-4)


@pytest.mark.parametrize("kernel", [1, 3, 5, 7, 15, 31, 63])
def test_median_network_equals_sorting_exactly(kernel):
    gen = torch.Generator().manual_seed(kernel)
    x = torch.rand(2, 70, 45, generator=gen)
    x[0, :, 1::2] = x[0, :, ::2][..., :22]  # ties
    x[1, ::3] = 0.25  # runs of equal values
    for dim in (0, 1, 2):
        net = S.median_filter(x, kernel_size=kernel, dim=dim)
        ref = S.median_filter(x, kernel_size=kernel, dim=dim, method="sort")
        assert torch.equal(net, ref), (kernel, dim)
    small_blocks = S.median_filter(x, kernel_size=kernel, dim=1, block_elements=500)
    assert torch.equal(small_blocks, S.median_filter(x, kernel_size=kernel, dim=1, method="sort"))


def test_median_network_matches_scipy_on_a_spectrogram(mag_ref):
    from scipy.ndimage import median_filter as scipy_median

    for axis in (0, 1):
        ours = S.median_filter(torch.from_numpy(mag_ref), kernel_size=31, dim=axis).numpy()
        size = [1, 1]
        size[axis] = 31
        assert np.array_equal(ours, scipy_median(mag_ref, size=size, mode="reflect"))


@pytest.mark.parametrize("kernel", [0, 4, -3])
def test_median_filter_rejects_even_or_empty_kernels(kernel):
    with pytest.raises(ValueError, match="kernel_size"):
        S.median_filter(torch.rand(5, 5), kernel_size=kernel, dim=0)


def test_median_filter_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        S.median_filter(torch.rand(5, 5), kernel_size=3, dim=0, method="histogram")
