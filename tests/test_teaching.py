"""The course material: listening helpers, the comb measure, colour scales on every image plot,
exercise solutions whose numbers come from the tables, and the structure of the notebooks.

The committed solutions are checked against the committed tables in ``figures/``; that every
solution number points at a table cell a run really writes is checked on the smoke run in
``tests/test_notebooks.py``.
"""

from __future__ import annotations

import ast
import importlib
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from artifactnet_core.detector.config import N_FFT, SAMPLE_RATE  # noqa: E402
from artifactnet_core.detector.spectral import hpss, magnitude  # noqa: E402
from artifactnet_core.experiments import listening, solutions  # noqa: E402
from artifactnet_core.experiments.combs import comb_contrast, comb_lines  # noqa: E402
from artifactnet_core.experiments.outputs import colour_scale_problems, save_fig  # noqa: E402
from artifactnet_core.paths import REPO_DIR  # noqa: E402

NOTEBOOKS = {p.stem: p.read_text() for p in sorted((REPO_DIR / "notebooks").glob("[0-9][0-9]_*.py"))}
SOLUTIONS = REPO_DIR / "notebooks" / "solutions"
FIGURES = REPO_DIR / "figures"


# ------------------------------------------------------------------------------------------
# Listening


def test_with_phase_of_the_full_magnitude_gives_the_clip_back(music):
    x = music[: 2 * SAMPLE_RATE]
    mag = magnitude(torch.from_numpy(x)).numpy()
    y = listening.with_phase(mag, x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.max(np.abs(y - x)) < 1e-4


def test_harmonic_and_percussive_sounds_add_up_to_the_residual(music):
    x = music[: 2 * SAMPLE_RATE]
    mag = magnitude(torch.from_numpy(x))
    residual = 0.3 * mag
    h, p = hpss(residual)
    parts = {"residual": residual.numpy(), "harmonic": h.numpy(), "percussive": p.numpy()}
    sounds = listening.part_sounds(parts, x)
    assert set(sounds) == set(listening.AUDIBLE_PARTS)
    # Soft masks share every bin, and the inverse STFT is linear with a fixed phase.
    np.testing.assert_allclose(sounds["harmonic"] + sounds["percussive"], sounds["residual"],
                               atol=1e-4)


def test_with_phase_refuses_a_part_on_another_grid(music):
    with pytest.raises(ValueError, match="STFT grid"):
        listening.with_phase(np.ones((N_FFT // 2 + 1, 3)), music[:SAMPLE_RATE])


def test_periodic_pattern_is_a_comb_at_multiples_of_the_frame_rate():
    period = 256
    x = listening.periodic_pattern(period, 64 * period, seed=3)
    power = np.abs(np.fft.rfft(x)) ** 2
    on_comb = np.arange(len(power)) % 64 == 0  # bin k is k * sr / len(x) Hz
    assert power[~on_comb].max() < 1e-6 * power[on_comb].max()
    assert np.sqrt(np.mean(x ** 2)) == pytest.approx(1.0, rel=1e-4)


def _share_in_h(x: np.ndarray) -> float:
    h, p = hpss(magnitude(torch.from_numpy(x)))
    e_h, e_p = float((h ** 2).sum()), float((p ** 2).sum())
    return e_h / (e_h + e_p)


def test_toy_mixture_teaches_what_it_claims():
    toy = listening.toy_mixture(seconds=2.0, seed=1)
    assert set(toy) == {"tone", "clicks", "comb", "mixture"}
    np.testing.assert_allclose(toy["tone"] + toy["clicks"] + toy["comb"], toy["mixture"],
                               atol=1e-6)
    assert np.max(np.abs(toy["mixture"])) == pytest.approx(0.9, rel=1e-5)
    level = listening.level_db(toy["comb"], toy["tone"])
    assert level == pytest.approx(-30.0, abs=0.5)
    # The tone and the comb are harmonic in HPSS's sense, the clicks percussive.
    assert _share_in_h(toy["tone"]) > 0.9
    assert _share_in_h(toy["comb"]) > 0.9
    assert _share_in_h(toy["clicks"]) < 0.2


def test_players_show_one_player_per_sound_with_its_level(capsys):
    toy = listening.toy_mixture(seconds=0.5)
    shown = listening.players({"tone": toy["tone"], "comb": toy["comb"]}, reference=toy["tone"],
                              reference_name="the tone")
    assert len(shown) == 2
    # Each player embeds a WAV file; its header holds the sample rate (bytes 24-27).
    assert all(int.from_bytes(p.data[24:28], "little") == SAMPLE_RATE for p in shown)
    out = capsys.readouterr().out
    assert "tone  (+0.0 dB re the tone)" in out and "comb  (-30" in out


# ------------------------------------------------------------------------------------------
# The comb measure


def test_comb_lines_are_the_multiples_of_the_frame_rate():
    freqs = np.linspace(5000, 6000, 1001)  # 1 Hz bins
    idx = comb_lines(250.0, freqs)
    np.testing.assert_allclose(freqs[idx], [5000, 5250, 5500, 5750, 6000])
    with pytest.raises(ValueError):
        comb_lines(0.0, freqs)


def test_comb_contrast_finds_a_comb_only_where_there_is_one(music):
    rng = np.random.default_rng(0)
    x = music[: 4 * SAMPLE_RATE] + 0.01 * rng.standard_normal(4 * SAMPLE_RATE).astype(np.float32)
    comb = 0.003 * listening.periodic_pattern(256, x.size)
    plain = comb_contrast(x, SAMPLE_RATE / 256)
    with_comb = comb_contrast(x + comb, SAMPLE_RATE / 256)
    elsewhere = comb_contrast(x + comb, 100.0)  # a spacing the comb does not have
    assert with_comb["contrast_db"] > plain["contrast_db"] + 3.0
    assert elsewhere["contrast_db"] < plain["contrast_db"] + 1.0
    assert with_comb["lines"] == len(comb_lines(SAMPLE_RATE / 256,
                                                np.arange(5001, 16000, 1.0)))


# ------------------------------------------------------------------------------------------
# Colour scales


@pytest.fixture
def figures(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTNET_FIGURES", str(tmp_path))
    return tmp_path


def _image(ax, vmax=1.0):
    return ax.imshow(np.random.default_rng(0).random((4, 4)), vmin=0, vmax=vmax, cmap="magma")


def test_an_image_without_a_colour_bar_is_reported(figures):
    fig, axes = plt.subplots(1, 2)
    im = _image(axes[0])
    fig.colorbar(im, ax=axes[0])
    _image(axes[1], vmax=2.0)  # another scale, no bar of its own
    axes[1].set_title("lonely")
    save_fig(fig, "fig99_bad")
    plt.close(fig)
    problems = colour_scale_problems(figures)
    assert problems == ["fig99_bad.png: axes 1 ('lonely') shows 1 image(s) without a colour bar"]


def test_one_colour_bar_serves_images_with_the_same_scale(figures):
    fig, axes = plt.subplots(1, 3)
    ims = [_image(ax) for ax in axes]
    fig.colorbar(ims[0], ax=list(axes))
    save_fig(fig, "fig99_shared")
    plt.close(fig)
    fig, ax = plt.subplots()
    ax.plot([0, 1])  # line plots need no colour bar
    save_fig(fig, "fig99_line")
    plt.close(fig)
    assert colour_scale_problems(figures) == []


def test_a_figure_without_axes_description_is_reported(figures):
    (figures / "fig99_old.png").write_bytes(b"\x89PNG")
    assert colour_scale_problems(figures) == ["fig99_old.png: no axes description "
                                              "(fig99_old.json missing)"]


def test_committed_figures_have_colour_scales():
    if not (FIGURES / "_axes").is_dir():
        pytest.skip("figures/ predates the axes descriptions; the next laptop run writes them")
    assert colour_scale_problems(FIGURES) == []


# ------------------------------------------------------------------------------------------
# Solution numbers


@pytest.fixture
def tables(tmp_path):
    pd.DataFrame({"family": ["tconv", "istft", "mrf"], "stride": [256, 256.0, 320],
                  "tpr": [0.91, 0.42, 0.77]}).to_csv(tmp_path / "tab99_family.csv", index=False)
    pd.DataFrame({"auc": [0.93456], "auc_lo": [float("nan")], "delta": [-0.0002],
                  "zero": [-0.0]}).to_csv(
        tmp_path / "tab99_one.csv", index=False)
    return tmp_path


def test_markers_resolve_by_filter_extreme_or_single_row(tables):
    assert solutions.resolve("tab99_family | family=istft | tpr | .2f", tables) == "0.42"
    assert solutions.resolve("tab99_family | min:tpr | family | s", tables) == "istft"
    assert solutions.resolve("tab99_family | max:tpr | tpr | .0%", tables) == "91%"
    assert solutions.resolve("tab99_family | stride=320 | family | s", tables) == "mrf"
    assert solutions.resolve("tab99_one | | auc | .3f", tables) == "0.935"
    assert solutions.resolve("tab99_family | family=mrf | stride | d", tables) == "320"
    assert solutions.resolve("tab99_family | row:1 | family | s", tables) == "istft"
    assert solutions.resolve("tab99_family | stride=256, min:tpr | family | s", tables) == "istft"
    assert solutions.resolve("tab99_family | family!=tconv, max:tpr | family | s", tables) == "mrf"
    assert solutions.resolve("tab99_family | stride!=256 | family | s", tables) == "mrf"
    assert solutions.resolve("tab99_one | | delta | +.3f", tables) == "-0.000"
    assert solutions.resolve("tab99_one | | zero | +.3f", tables) == "+0.000"
    assert solutions.resolve("tab99_one | | zero | .3f", tables) == "0.000"
    with pytest.raises(solutions.EmptyCell):
        solutions.resolve("tab99_one | | auc_lo | .3f", tables)
    with pytest.raises(LookupError, match="no row 3"):
        solutions.resolve("tab99_family | row:3 | family | s", tables)


@pytest.mark.parametrize("spec, reason", [
    ("tab99_missing | | auc | .3f", "no table"),
    ("tab99_family | family=snake | tpr | .2f", "0 rows"),
    ("tab99_family | stride=256 | tpr | .2f", "2 rows"),
    ("tab99_family | family=istft | recall | .2f", "no column"),
])
def test_markers_that_point_at_nothing_say_why(tables, spec, reason):
    with pytest.raises(LookupError, match=reason):
        solutions.resolve(spec, tables)


def test_fill_check_and_update_agree(tables, tmp_path):
    folder = tmp_path / "solutions"
    folder.mkdir()
    doc = folder / "99_x_solutions.md"
    doc.write_text("hardest: <!--n tab99_family | min:tpr | family | s-->mrf<!--/n-->, "
                   "gone: <!--n tab99_family | family=snake | tpr | .2f-->0.5<!--/n-->, "
                   "not computed: <!--n tab99_one | | auc_lo | .3f-->–<!--/n-->\n")
    assert len(solutions.stale_numbers(tables, folder)) == 2
    assert solutions.unresolved(tables, folder) == [
        "99_x_solutions.md: tab99_family | family=snake | tpr | .2f: 0 rows match "
        "'family=snake' (need exactly one)"]
    assert solutions.update_solutions(tables, folder) == [doc]
    assert "-->istft<!--/n-->" in doc.read_text() and "-->–<!--/n-->" in doc.read_text()
    assert solutions.stale_numbers(tables, folder) == []
    assert solutions.update_solutions(tables, folder) == []


def test_a_marker_never_swallows_the_text_up_to_the_next_one(tables, tmp_path):
    text = ("markers look like `<!--n table | row | column | format-->` and then "
            "<!--n tab99_one | | auc | .2f-->?<!--/n-->")
    new, problems = solutions.fill(text, tables)
    assert new.endswith("<!--n tab99_one | | auc | .2f-->0.93<!--/n-->") and problems == []
    assert "`<!--n table | row | column | format-->` and then" in new


def test_committed_solutions_state_what_the_committed_tables_say():
    """Every number a solution states is the one in ``figures/`` (``–`` where the committed
    tables do not have it yet); ``python -m artifactnet_core.experiments.solutions`` fixes
    a failure after a new run."""
    assert solutions.solution_files(), "no solutions"
    assert solutions.stale_numbers(FIGURES) == []


def test_solutions_state_measured_numbers_only_through_markers():
    """Outside markers and code, a solution may state derived physics (rates, bins), never a
    measured table value: no bare decimal with three or more digits after the point."""
    for path in solutions.solution_files():
        text = re.sub(r"```.*?```", "", solutions.MARKER.sub("", path.read_text()), flags=re.S)
        assert not re.findall(r"\b0\.\d{3,}\b", text), path.name


# ------------------------------------------------------------------------------------------
# What the solutions and notebooks name must exist


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_solution_code_compiles_and_imports_what_exists():
    for path in solutions.solution_files():
        for block in _python_blocks(path.read_text()):
            tree = ast.parse(block)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module.startswith("artifactnet_core"):
                    module = importlib.import_module(node.module)
                    for alias in node.names:
                        assert hasattr(module, alias.name) or (
                            hasattr(module, "__path__")  # a submodule of a package
                            and importlib.util.find_spec(f"{node.module}.{alias.name}")), \
                            f"{path.name}: {node.module}.{alias.name} does not exist"


def test_generator_names_in_the_course_exist():
    from artifactnet_core.bench.zoo import ZOO

    names = {spec.name for spec in ZOO}
    # Values between markers come from the tables (checked above), not from the text.
    texts = {**{p.name: solutions.MARKER.sub("", p.read_text()) for p in solutions.solution_files()},
             **NOTEBOOKS, "README.md": (REPO_DIR / "notebooks" / "README.md").read_text()}
    for name, text in texts.items():
        mentioned = set(re.findall(r"\b[a-z]+(?:_[a-z]+)*_s\d{3}\b", text))
        assert mentioned <= names, f"{name} names generators the zoo lacks: {mentioned - names}"


def test_every_exercise_has_a_solution():
    for stem, text in NOTEBOOKS.items():
        if "## Exercises" not in text:
            continue
        exercises = text.split("## Exercises", 1)[1]
        n = len(re.findall(r"^# \d\. \*\*", exercises, flags=re.M))
        solution = SOLUTIONS / f"{stem}_solutions.md"
        assert n >= 2, stem
        assert solution.exists() and f"notebooks/solutions/{solution.name}" in exercises, stem
        answered = re.findall(r"^## (\d)\. ", solution.read_text(), flags=re.M)
        assert [int(k) for k in answered] == list(range(1, n + 1)), stem

