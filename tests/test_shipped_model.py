"""The weights shipped in the package: they load without pickle, say what trained them, and score
real audio end to end through the CLI's code path."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from artifactnet_core.detector.detect import detect_file
from artifactnet_core.detector.model import DEFAULT_WEIGHTS, load_model

pytestmark = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(),
                                reason="no weights shipped in this checkout")


def test_shipped_weights_describe_their_training():
    config = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    assert 0.0 < config["threshold"] < 1.0
    assert config["info"]["profile"] in {"laptop", "paper"}, "smoke models are never shipped"
    assert config["info"]["bench_sha256"]


def test_shipped_model_scores_a_file(tmp_path, music):
    model = load_model(DEFAULT_WEIGHTS)
    path = tmp_path / "song.wav"
    sf.write(path, np.tile(music, 2), 44_100)
    result = detect_file(path, model)
    assert result.error is None and 0.0 <= result.p_ai <= 1.0
    assert result.label in {"ai", "real"}
    assert (result.label == "ai") == (result.p_ai >= model.config.threshold)
