"""Binder, conda and Colab configuration stay in step with the package.

* ``binder/requirements.txt`` and ``environment.yml`` list exactly the dependencies of
  ``pyproject.toml`` (``[project.dependencies]`` plus the ``notebooks`` extra), with the same
  version bounds; torch may come from PyTorch's CPU wheel index, which both must name.
* ``binder/apt.txt`` lists exactly the Makefile's ``DEB_PACKAGES`` and
  :func:`artifactnet_core.bench.sources.required_debian_packages`.
* Every notebook opens with a Colab badge pointing at its own ``.ipynb`` and has the same
  Colab-only install cell, which runs ``binder/colab_setup.sh`` from the repository it clones.
"""

from __future__ import annotations

import os
import re
import sys

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from artifactnet_core.bench.sources import required_debian_packages
from artifactnet_core.experiments.runner import colab_cell_source, notebook_sources
from artifactnet_core.paths import REPO_DIR

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

BINDER = REPO_DIR / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: conda package names that differ from their PyPI names.
CONDA_TO_PYPI = {"pytorch": "torch", "pysoundfile": "soundfile", "python-soxr": "soxr"}
#: conda entries that are not Python dependencies of the package.
CONDA_SKIP = {"python", "pip", "cpuonly"}
BADGE = re.compile(r"\[!\[Open In Colab\]\(https://colab\.research\.google\.com/assets/"
                   r"colab-badge\.svg\)\]\(https://colab\.research\.google\.com/github/"
                   r"(?P<repo>[\w.-]+/[\w.-]+)/blob/main/(?P<path>[^)]+)\)")


def normalise(spec: str) -> tuple[str, str]:
    """``"Scikit_Learn >=1.3"`` -> ``("scikit-learn", ">=1.3")``: canonical name, sorted bounds."""
    req = Requirement(spec)
    bounds = ",".join(sorted(str(s) for s in req.specifier))
    return canonicalize_name(req.name), bounds


def pyproject() -> dict:
    return tomllib.loads((REPO_DIR / "pyproject.toml").read_text())


def expected_dependencies() -> set[tuple[str, str]]:
    project = pyproject()["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["notebooks"]
    return {normalise(s) for s in specs}


def requirement_lines(lines: list[str]) -> tuple[set[tuple[str, str]], list[str]]:
    """Split pip requirement lines into normalised requirements and option lines."""
    reqs, options = set(), []
    for raw in lines:
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
        else:
            reqs.add(normalise(line))
    return reqs, options


def test_pyproject_dependencies_parse():
    deps = dict(expected_dependencies())
    assert deps["torch"] == ">=2.2"
    assert "ipywidgets" in deps


def test_binder_requirements_match_pyproject():
    reqs, options = requirement_lines((BINDER / "requirements.txt").read_text().splitlines())
    expected = expected_dependencies()
    assert reqs - expected == set(), "in binder/requirements.txt but not in pyproject.toml"
    assert expected - reqs == set(), "in pyproject.toml but not in binder/requirements.txt"
    assert f"--extra-index-url {CPU_INDEX}" in options, "Binder must get the CPU-only torch"


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((REPO_DIR / "environment.yml").read_text())
    conda, pip_lines = set(), []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_lines += dep.get("pip", [])
            continue
        # conda's "name=1.2" means "name==1.2" (pip); "name>=1.2" reads the same in both.
        req = Requirement(re.sub(r"^([A-Za-z0-9_.-]+)=(?!=)", r"\1==", dep.split("::")[-1]))
        name = CONDA_TO_PYPI.get(req.name, req.name)
        if name == "python":
            assert str(req.specifier) == pyproject()["project"]["requires-python"]
        if name not in CONDA_SKIP:
            conda.add(normalise(f"{name}{req.specifier}"))
    pip_reqs, options = requirement_lines(pip_lines)
    listed = conda | pip_reqs
    expected = expected_dependencies()
    assert listed - expected == set(), "in environment.yml but not in pyproject.toml"
    assert expected - listed == set(), "in pyproject.toml but not in environment.yml"
    assert not conda & pip_reqs, "listed both as conda and as pip packages"
    cpu_torch = (f"--extra-index-url {CPU_INDEX}" in options
                 or "cpuonly" in {str(d).split("=")[0] for d in env["dependencies"]})
    assert cpu_torch, "environment.yml must get the CPU-only torch"


def test_binder_python_satisfies_requires_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    version = Version(runtime.removeprefix("python-"))
    assert version in Requirement(f"python{pyproject()['project']['requires-python']}").specifier


def makefile_deb_packages() -> list[str]:
    text = (REPO_DIR / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(r"^DEB_PACKAGES\s*:?=\s*(.+)$", text, flags=re.M)
    assert match, "DEB_PACKAGES not found in the Makefile"
    return match.group(1).split()


def apt_packages() -> list[str]:
    lines = (BINDER / "apt.txt").read_text().splitlines()
    return [p for p in (line.partition("#")[0].strip() for line in lines) if p]


def test_apt_txt_matches_makefile_and_sources():
    apt = apt_packages()
    assert len(apt) == len(set(apt)), "duplicate package in binder/apt.txt"
    assert set(apt) == set(makefile_deb_packages())
    assert set(apt) == set(required_debian_packages())


def test_binder_scripts():
    for name in ("postBuild", "start", "colab_setup.sh"):
        path = BINDER / name
        assert os.access(path, os.X_OK), f"binder/{name} must be executable"
        assert path.read_text().startswith("#!/usr/bin/env bash")
    post = (BINDER / "postBuild").read_text()
    assert "--no-deps -e ." in post, "postBuild must not re-resolve (and swap) the CPU torch"
    assert "bench build --profile smoke" in post
    colab = (BINDER / "colab_setup.sh").read_text()
    assert "apt.txt" in colab, "colab_setup.sh must install the packages of binder/apt.txt"
    installs = [line for line in colab.splitlines()
                if "pip install" in line and not line.lstrip().startswith("#")]
    assert installs and not any("torch" in line for line in installs), \
        "Colab keeps its own torch: pip must not be asked for one"
    assert '[notebooks]"' in colab


def _cells(src):
    import jupytext

    return jupytext.read(src).cells


@pytest.fixture(scope="module")
def notebooks() -> dict[str, list]:
    return {src.stem: _cells(src) for src in notebook_sources()}


def test_every_notebook_has_its_own_colab_badge(notebooks):
    assert notebooks
    for stem, cells in notebooks.items():
        title = cells[0]
        assert title.cell_type == "markdown" and title.source.startswith("# "), stem
        match = BADGE.search(title.source)
        assert match, f"{stem}: no Colab badge in the title cell"
        assert match["path"] == f"notebooks/{stem}.ipynb", f"{stem}: badge opens {match['path']}"


def test_every_notebook_has_the_same_colab_install_cell(notebooks):
    reference = colab_cell_source()
    for stem, cells in notebooks.items():
        source = next(c.source for c in cells if c.cell_type == "code")
        assert source == reference, (f"{stem}: Colab install cell differs from "
                                     "binder/colab_cell.py (run `make sync-notebooks`)")
    assert '"google.colab" in sys.modules' in reference
    assert "binder/colab_setup.sh" in reference
    first_badge = BADGE.search(notebooks[min(notebooks)][0].source)
    assert f"https://github.com/{first_badge['repo']}\"" in reference, \
        "the install cell must clone the repository the badges open"
