"""ONNX export of the whole detector, and scoring with ONNX Runtime.

The exported graph is the full path of :meth:`ArtifactNet.predict_proba` in float32: audio
chunks ``(batch, samples)`` in, P(AI) ``(batch,)`` out - STFT, UNet (batch norm folded), HPSS
(the min/max selection network of :func:`~artifactnet_core.detector.spectral.median_filter`,
exact in any runtime), mel-dB maps, channels and CNN. The batch size is free. The model's
config travels in the graph's metadata (``artifactnet_config``), so a scorer needs only the
``.onnx`` file.

Needs the ``onnx`` extra (``pip install "artifactnet-core[onnx]"``: onnx, onnxscript for
torch's exporter, onnxruntime); the rest of the detector does not.

    artifactnet export --onnx detector.onnx            # the shipped weights
    artifactnet export --onnx detector.onnx --weights my.safetensors
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from artifactnet_core.detector.model import ArtifactNet, ArtifactNetConfig

#: ONNX opset of the exported graph (STFT needs 17; 18 is what torch's exporter targets).
OPSET = 18
#: Metadata key holding the model's config as JSON.
CONFIG_KEY = "artifactnet_config"
_EXTRA_HINT = 'install the onnx extra: pip install "artifactnet-core[onnx]"'


class _ProbabilityGraph(nn.Module):
    """What is exported: ``predict_proba`` of the model in float32."""

    def __init__(self, model: ArtifactNet):
        super().__init__()
        self.model = model

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(audio, precision="fp32"))


def export_onnx(model: ArtifactNet, path: str | os.PathLike, *, opset: int = OPSET) -> Path:
    """Write the detector as one ONNX graph, audio chunks -> P(AI), and return its path.

    Parameters
    ----------
    model : ArtifactNet
        The detector (exported from a CPU copy, in eval mode; ``model`` itself is unchanged).
    path : path
        Destination ``.onnx`` file (written next to it under a temporary name, then renamed).
    opset : int
        ONNX opset version (at least 17, for STFT).

    Raises
    ------
    ImportError
        If onnx or onnxscript is missing (the message says how to install them).
    """
    try:
        import onnx
        import onnxscript  # noqa: F401 - torch's ONNX exporter needs it
    except ImportError as err:
        raise ImportError(f"ONNX export needs onnx and onnxscript: {_EXTRA_HINT}") from err
    path = Path(path)
    cpu = ArtifactNet(model.config)
    cpu.load_state_dict(model.state_dict())
    graph = _ProbabilityGraph(cpu.eval()).eval()
    example = torch.zeros(2, model.config.chunk_samples)
    example[:, ::7] = 0.1  # not silence: keeps every branch of the graph live while tracing
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # "torchvision is not installed", once per operator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notes
        program = torch.onnx.export(
            graph, (example,), dynamo=True, opset_version=opset, verbose=False,
            input_names=["audio"], output_names=["p_ai"],
            dynamic_shapes={"audio": {0: torch.export.Dim.DYNAMIC}})
    exporter_log.setLevel(level)
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = CONFIG_KEY, model.config.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        onnx.save_model(proto, os.fspath(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


class OnnxDetector:
    """P(AI) per chunk from an exported graph, with ONNX Runtime on the CPU.

    Parameters
    ----------
    path : path
        A file written by :func:`export_onnx`.
    threads : int, optional
        Intra-op threads (default: ONNX Runtime's, one per core).
    """

    def __init__(self, path: str | os.PathLike, *, threads: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ImportError(f"ONNX Runtime is not installed: {_EXTRA_HINT}") from err
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.path = Path(path)
        try:
            self.session = ort.InferenceSession(os.fspath(path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - any unreadable graph gets the file's name
            raise ValueError(f"{path}: not a loadable ONNX graph ({err})") from err
        meta = self.session.get_modelmeta().custom_metadata_map
        if CONFIG_KEY not in meta:
            raise ValueError(f"{path}: no {CONFIG_KEY} metadata; not written by export_onnx")
        self.config = ArtifactNetConfig.from_dict(json.loads(meta[CONFIG_KEY]))
        self._input = self.session.get_inputs()[0].name

    def predict_proba(self, chunks: np.ndarray, *, batch: int = 4) -> np.ndarray:
        """P(AI) ``(n_chunks,)`` float64 for chunks ``(n_chunks, config.chunk_samples)``."""
        chunks = np.asarray(chunks, dtype=np.float32)
        if chunks.ndim != 2 or chunks.shape[1] != self.config.chunk_samples:
            raise ValueError(f"chunks must be (n, {self.config.chunk_samples}), got "
                             f"{chunks.shape}")
        out = [self.session.run(None, {self._input: chunks[i:i + batch]})[0]
               for i in range(0, len(chunks), batch)]
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


def add_export_command(sub: argparse._SubParsersAction) -> None:
    """Register ``artifactnet export`` on the CLI's subcommands."""
    cmd = sub.add_parser("export", help="export the detector (ONNX)")
    cmd.add_argument("--onnx", required=True, metavar="PATH", help="the .onnx file to write")
    cmd.add_argument("--weights", help="a .safetensors checkpoint (default: $ARTIFACTNET_WEIGHTS, "
                                       "else the shipped model)")
    cmd.set_defaults(func=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    from artifactnet_core.detector.model import default_weights, load_model

    weights = args.weights or default_weights()
    if weights is None:
        print("artifactnet export: no weights given and none shipped", file=sys.stderr)
        return 1
    try:
        path = export_onnx(load_model(weights), args.onnx)
    except (ImportError, OSError, ValueError) as err:
        print(f"artifactnet export: {err}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB) from {weights}")
    return 0
