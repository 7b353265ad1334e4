"""The layout keeps its promises: layers, one definition per concept, true docstring claims.

* ``artifactnet_core.detector`` (what ``pip install artifactnet-core`` gives) imports neither the
  benchmark nor the experiments, nor any package outside its runtime dependencies;
* the sample rate, chunk length, mask bound, chunking rule and profile names are each defined once;
* "Taught in notebook ``NN_name``" in a docstring is true: that notebook uses the thing;
* no module of the library is much over 600 lines.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

from artifactnet_core.paths import PACKAGE_DIR, REPO_DIR

LIBRARY = sorted(PACKAGE_DIR.rglob("*.py"))
NOTEBOOKS = {p.stem: p.read_text() for p in sorted((REPO_DIR / "notebooks").glob("[0-9][0-9]_*.py"))}
CLAIM = re.compile(r"Taught in notebooks?\s+((?:``\d\d_\w+``[^.;]*?)+)[.;]")


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO_DIR).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _code_tokens(path: Path):
    """NUMBER and STRING tokens of the code (docstrings and comments left out)."""
    tree = ast.parse(path.read_text())
    docstrings = {(n.body[0].lineno, n.body[0].col_offset) for n in ast.walk(tree)
                  if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)
                  and n.body and isinstance(n.body[0], ast.Expr)
                  and isinstance(n.body[0].value, ast.Constant)
                  and isinstance(n.body[0].value.value, str)}
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type in (tokenize.NUMBER, tokenize.STRING) and tok.start not in docstrings:
            yield tok


def _where(predicate) -> list[str]:
    return sorted({str(p.relative_to(PACKAGE_DIR)) for p in LIBRARY
                   for tok in _code_tokens(p) if predicate(tok)})


def test_sample_rate_and_chunk_length_are_defined_once():
    assert _where(lambda t: t.type == tokenize.NUMBER
                  and t.string.replace("_", "") in ("44100", "176400")) == ["detector/config.py"]


def test_profile_names_are_spelled_once():
    for name in ("smoke", "laptop", "paper"):
        assert _where(lambda t, n=name: t.type == tokenize.STRING
                      and t.string.strip("\"'") == n) == ["profiles.py"], name


def test_mask_bound_default_is_defined_once():
    hits = []
    for path in LIBRARY:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.AnnAssign | ast.Assign):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                names = {getattr(t, "id", getattr(t, "attr", "")) for t in targets}
                if names & {"mask_bound", "MASK_BOUND"} and isinstance(node.value, ast.Constant):
                    hits.append(path.name)
            if isinstance(node, ast.FunctionDef):
                args = node.args.args + node.args.kwonlyargs
                defaults = ([None] * (len(node.args.args) - len(node.args.defaults))
                            + node.args.defaults + node.args.kw_defaults)
                for arg, default in zip(args, defaults, strict=True):
                    if arg.arg == "mask_bound" and isinstance(default, ast.Constant) \
                            and default.value is not None:
                        hits.append(f"{path.name}:{node.name}")
    assert hits == ["config.py"]


def test_chunking_rule_is_written_once():
    rule = re.compile(r">=\s*chunk_samples\s*//\s*2|>=\s*n\s*//\s*2")
    assert [p.name for p in LIBRARY if rule.search(p.read_text())] == ["chunking.py"]


def test_no_module_is_much_over_600_lines():
    long = {str(p.relative_to(PACKAGE_DIR)): n for p in LIBRARY
            if (n := len(p.read_text().splitlines())) > 650}
    assert not long


def test_taught_in_claims_are_true():
    """A docstring that says "Taught in notebook ``NN_x``" names a notebook that uses it."""
    false = []
    for path in LIBRARY:
        tree = ast.parse(path.read_text())
        module = _module(path)
        nodes = [(module.rpartition(".")[2], tree, True)] + [
            (n.name, n, False) for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        for name, node, is_module in nodes:
            for claim in CLAIM.findall(ast.get_docstring(node) or ""):
                for nb in re.findall(r"``(\d\d_\w+)``", claim):
                    text = NOTEBOOKS.get(nb, "")
                    if is_module:
                        parent, _, leaf = module.rpartition(".")
                        used = module in text or re.search(
                            rf"from {re.escape(parent)} import [^\n]*\b{leaf}\b", text)
                    else:
                        used = re.search(rf"\b{re.escape(name)}\b", text)
                    if not used:
                        false.append(f"{module}.{name if not is_module else ''} -> {nb}")
    assert not false, "docstrings claim notebooks that do not use them:\n" + "\n".join(false)


BLOCKER = """
import importlib.abc, sys
BLOCKED = ("pandas", "scipy", "sklearn", "matplotlib", "music21", "seaborn", "librosa",
           "artifactnet_core.bench", "artifactnet_core.experiments")
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"the detector imported {name}")
        return None
sys.meta_path.insert(0, Blocker())
"""


def test_detector_needs_only_its_runtime_dependencies(tmp_path):
    """`artifactnet detect` and the detector modules run without the benchmark, the experiments
    or any package outside the core dependencies of pyproject.toml."""
    import numpy as np
    import soundfile as sf

    from artifactnet_core.detector.config import SAMPLE_RATE
    from artifactnet_core.detector.model import ArtifactNet, ArtifactNetConfig, save_model

    weights = save_model(ArtifactNet(ArtifactNetConfig(unet_base_width=4)),
                         tmp_path / "tiny.safetensors")
    song = tmp_path / "song.wav"
    sf.write(song, 0.1 * np.sin(np.arange(5 * SAMPLE_RATE) / 10.0), SAMPLE_RATE)
    code = BLOCKER + f"""
import artifactnet_core.detector.detect, artifactnet_core.detector.model
import artifactnet_core.detector.chunking, artifactnet_core.detector.codecs
from artifactnet_core.cli import main
sys.exit(main(["detect", {str(song)!r}, "--weights", {str(weights)!r}, "--format", "csv", "-q"]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("path,p_ai,label,duration_s,error")
    assert str(song) in out.stdout


@pytest.mark.slow
def test_pip_install_dot_gives_a_working_detector(tmp_path):
    """A fresh virtualenv with only ``pip install .`` (torch pinned as the Makefile pins it)
    runs ``artifactnet detect``."""
    import numpy as np
    import soundfile as sf

    from artifactnet_core.detector.config import SAMPLE_RATE

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    torch_pin = f"torch=={__import__('torch').__version__.split('+')[0]}"
    # --no-compile: byte-compiling torch's thousands of modules took 40 % of the install
    # (79 s -> 47 s on the 2-core CI machine) and tests nothing.
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-compile",
                              str(REPO_DIR), torch_pin], capture_output=True, text=True,
                             timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    listed = subprocess.run([str(venv / "bin" / "pip"), "list", "--format=freeze"],
                            capture_output=True, text=True).stdout.lower()
    for extra in ("pandas", "scipy", "scikit-learn", "matplotlib", "music21"):
        assert f"\n{extra}==" not in "\n" + listed, f"{extra} came with the core install"
    song = tmp_path / "song.wav"
    sf.write(song, 0.1 * np.sin(np.arange(5 * SAMPLE_RATE) / 10.0), SAMPLE_RATE)
    out = subprocess.run([str(venv / "bin" / "artifactnet"), "detect", str(song), "--format",
                          "csv"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("path,p_ai,label,duration_s,error")
