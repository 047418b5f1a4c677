"""GraphiQL's browser files: the pinned manifest, and the installer that fetches them.

The files are third-party bundles (React, GraphiQL, its explorer plugin), so they are never
committed: `sentinai install-assets` downloads each npm tarball named in `manifest.json`,
refuses it unless its SHA-512 matches the registry's `dist.integrity` pinned there, and
extracts only the listed files. The standard library suffices, so a machine with only Python
can install them, and any npm mirror can stand in for the registry: the hashes vouch for it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

NPM_REGISTRY = "https://registry.npmjs.org"


class AssetIntegrityError(Exception):
    """A downloaded tarball is not the one the manifest pins."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str
    files: dict[str, str]
    """Served (and installed) file name → path inside the tarball."""

    def tarball_url(self, registry: str) -> str:
        basename = self.name.rsplit("/", 1)[-1]  # scoped packages: @graphiql/plugin-explorer
        return f"{registry.rstrip('/')}/{self.name}/-/{basename}-{self.version}.tgz"


@dataclass(frozen=True)
class Manifest:
    packages: tuple[Package, ...]

    @classmethod
    def packaged(cls) -> Manifest:
        return cls.parse(resources.files(__package__).joinpath("manifest.json").read_text())

    @classmethod
    def parse(cls, text: str) -> Manifest:
        raw = json.loads(text)
        return cls(tuple(Package(p["name"], p["version"], p["integrity"], dict(p["files"])) for p in raw["packages"]))

    def file_names(self) -> Iterator[str]:
        """Every file the page loads, in the order it must load them."""
        for package in self.packages:
            yield from package.files

    def missing(self, directory: Path) -> list[str]:
        return [name for name in self.file_names() if not (directory / name).is_file()]


def verify(package: Package, tarball: bytes) -> None:
    algorithm, _, expected = package.integrity.partition("-")
    if algorithm != "sha512":
        raise AssetIntegrityError(f"{package.name}: only sha512 integrity is accepted, not {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if actual != expected:
        raise AssetIntegrityError(f"{package.name}@{package.version}: tarball sha512 {actual} is not the pinned one")


def _download(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _write_atomically(path: Path, content: bytes) -> None:
    """A reader (the server) sees the old file or the whole new one, never half of it."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)


def install(
    directory: Path, manifest: Manifest | None = None, registry: str = NPM_REGISTRY, timeout: float = 60.0
) -> list[str]:
    """Install what is missing into `directory`; returns the names written (none when current).

    A package is fetched only when one of its files is missing, and nothing of it is written
    unless its tarball passes `verify`.
    """
    manifest = manifest or Manifest.packaged()
    directory.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for package in manifest.packages:
        if not _incomplete(package, directory):
            continue
        tarball = _download(package.tarball_url(registry), timeout)
        verify(package, tarball)
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            contents = {name: _member(archive, package, inner) for name, inner in package.files.items()}
        for name, content in contents.items():
            _write_atomically(directory / name, content)
            written.append(name)
    return written


def _incomplete(package: Package, directory: Path) -> bool:
    return any(not (directory / name).is_file() for name in package.files)


def _member(archive: tarfile.TarFile, package: Package, inner: str) -> bytes:
    extracted = archive.extractfile(inner) if inner in archive.getnames() else None
    if extracted is None:
        raise AssetIntegrityError(f"{package.name}@{package.version} has no file {inner}")
    return extracted.read()
