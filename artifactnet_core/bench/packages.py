"""Debian packages as a source of files: installed, or fetched and unpacked without root; the
renderer commands they provide; and the licences their copyright files state.

When a package is not installed, its ``.deb`` is fetched with ``apt-get download`` and unpacked
with ``dpkg-deb -x`` into the cache (no root needed); when that fails too,
:class:`SourceUnavailable` names the packages to install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from artifactnet_core.paths import cache_dir


class SourceUnavailable(RuntimeError):
    """A real source whose files are neither installed nor obtainable; names the packages."""


def install_hint(packages: Sequence[str]) -> str:
    """How to install ``packages`` (the line every "not found" message ends with)."""
    return f"install them with: sudo apt-get install -y {' '.join(packages)}"


def unpack_debian_package(package: str, *, unpack_root: Path | None = None,
                          timeout_s: float = 900.0) -> Path:
    """Fetch ``package`` with ``apt-get download`` and unpack it with ``dpkg-deb -x``.

    Works without root. The files land under ``unpack_root/package/`` (default
    ``cache_dir()/debs``), mirroring the system tree (``usr/share/...``); an already unpacked
    package is reused. Raises :class:`SourceUnavailable` when either tool fails.
    """
    unpack_root = Path(unpack_root) if unpack_root is not None else cache_dir() / "debs"
    dest = unpack_root / package
    if (dest / ".complete").exists():
        return dest
    unpack_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{package}-", dir=unpack_root) as tmp:
        try:
            subprocess.run(["apt-get", "download", package], cwd=tmp, check=True,
                           capture_output=True, timeout=timeout_s)
            debs = sorted(Path(tmp).glob("*.deb"))
            if not debs:
                raise SourceUnavailable(f"apt-get download {package} produced no .deb")
            staging = Path(tmp) / "root"
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(staging)], check=True,
                           capture_output=True, timeout=timeout_s)
        except (OSError, subprocess.SubprocessError) as err:
            detail = getattr(err, "stderr", b"") or b""
            raise SourceUnavailable(
                f"Debian package {package} is not installed and could not be downloaded "
                f"({type(err).__name__}: {detail.decode(errors='replace').strip()[:200]}); "
                f"{install_hint([package])}") from err
        (staging / ".complete").touch()
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    return dest


def locate_path(path: str, package: str, *, what: str, system_root: Path = Path("/"),
                unpack_root: Path | None = None, allow_download: bool = True,
                hint: str | None = None) -> Path:
    """Return where ``path`` (a file or folder of Debian ``package``) is: installed under
    ``system_root``, or in the package unpacked into the cache.

    Raises
    ------
    SourceUnavailable
        Naming ``what`` needs the package and how to install it.
    """
    rel = path.lstrip("/")
    installed = Path(system_root) / rel
    if installed.exists():
        return installed
    if allow_download:
        unpacked = unpack_debian_package(package, unpack_root=unpack_root) / rel
        if unpacked.exists():
            return unpacked
    raise SourceUnavailable(f"{what} needs Debian package {package} ({path} not found); "
                            f"{hint or install_hint([package])}")


TOOL_PACKAGES = {"fluidsynth": ("fluidsynth", "libfluidsynth3"),
                 "openmpt123": ("openmpt123", "libopenmpt0")}

#: A command to run and the environment it needs (``None``: the current one).
Tool = tuple[str, dict[str, str] | None]


def locate_tool(command: str, *, unpack_root: Path | None = None,
                allow_download: bool = True) -> Tool:
    """Return a renderer command (``fluidsynth`` or ``openmpt123``) and the environment it needs.

    The installed command when there is one; otherwise the binary of the unpacked package and
    its library package (:data:`TOOL_PACKAGES`) with ``LD_LIBRARY_PATH`` pointing at the
    unpacked library. Raises :class:`SourceUnavailable` when neither runs.
    """
    found = shutil.which(command)
    if found:
        return found, None
    binary_pkg, lib_pkg = TOOL_PACKAGES[command]
    if allow_download:
        try:
            binary = unpack_debian_package(binary_pkg, unpack_root=unpack_root) / "usr/bin" / command
            lib = unpack_debian_package(lib_pkg, unpack_root=unpack_root)
            libdirs = [str(p) for p in sorted((lib / "usr/lib").glob("*")) if p.is_dir()]
            env = dict(os.environ)
            env["LD_LIBRARY_PATH"] = os.pathsep.join(
                [*libdirs, str(lib / "usr/lib"), env.get("LD_LIBRARY_PATH", "")])
            subprocess.run([str(binary), "--version"], check=True, capture_output=True,
                           env=env, timeout=30)
            return str(binary), env
        except (OSError, subprocess.SubprocessError, SourceUnavailable):
            pass
    raise SourceUnavailable(f"rendering needs the {command} command; "
                            f"{install_hint([binary_pkg])}")


@dataclass(frozen=True)
class LicenceInfo:
    """A package's licence as its Debian copyright file states it."""

    package: str
    summary: str
    evidence: str
    copyright_path: str


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def summarise_licence(copyright_text: str, readme_text: str = "") -> tuple[str, str]:
    """Return ``(SPDX-like summary, quoted evidence)`` for a Debian copyright file's text.

    Machine-readable (DEP-5) files give the ``License:`` of their ``Files: *`` stanza; free-form
    files are matched against Creative Commons BY-SA, MIT and GNU GPL wording (the version of a
    CC licence is taken from the package README when the copyright file only holds the legal
    code). Returns ``("unknown", "")`` when nothing matches.
    """
    stanza = re.search(r"^Files:[ \t]*\*[ \t]*\n(?:(?!Files:).*\n)*?License:[ \t]*([^\n]+)",
                       copyright_text, flags=re.MULTILINE)
    if stanza:
        return stanza.group(1).strip(), _squash(stanza.group(0))[:200]
    text = _squash(copyright_text)
    if re.search(r"creative commons", text, re.I) and re.search(r"share ?alike", text, re.I):
        version = re.search(r"BY-SA\s*(\d\.\d)", _squash(readme_text))
        evidence = re.search(r"[^.]*BY-SA[^.]*\.", _squash(readme_text))
        summary = f"CC-BY-SA-{version.group(1)}" if version else "CC-BY-SA"
        quote = evidence.group(0).strip() if evidence else "Creative Commons Attribution-ShareAlike"
        return summary, quote
    mit = re.search(r"[^.\"]*under the MIT license[^.\"]*", text, re.I)
    if mit:
        return "MIT", mit.group(0).strip()
    gpl = re.search(r"GNU (?:Library )?General Public License[^.]{0,200}", text)
    if gpl:
        clause = gpl.group(0)
        version = re.search(r"version (\d)", clause)
        later = re.search(r"later version", clause)
        summary = "GPL" + (f"-{version.group(1)}" if version else "") + ("+" if later else "")
        return summary, clause.strip()
    return "unknown", ""


def package_licence(package: str, *, doc_roots: Sequence[Path] | None = None) -> LicenceInfo:
    """Read ``/usr/share/doc/PACKAGE/copyright`` (or its unpacked copy) and summarise it.

    Parameters
    ----------
    package : str
        Debian package name.
    doc_roots : sequence of Path, optional
        Folders holding ``PACKAGE/copyright``; default ``/usr/share/doc`` and the unpacked copy
        under ``cache_dir()/debs/PACKAGE/usr/share/doc``.
    """
    if doc_roots is None:
        doc_roots = (Path("/usr/share/doc"), cache_dir() / "debs" / package / "usr/share/doc")
    for root in doc_roots:
        path = Path(root) / package / "copyright"
        if path.exists():
            readme = Path(root) / package / "README"
            summary, evidence = summarise_licence(
                path.read_text(errors="replace"),
                readme.read_text(errors="replace") if readme.exists() else "")
            return LicenceInfo(package, summary, evidence, str(path))
    return LicenceInfo(package, "unknown (copyright file not found)", "", "")


