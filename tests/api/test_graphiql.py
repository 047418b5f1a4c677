"""GraphiQL's page and files come from this server: installed from the npm registry with
their pinned hashes, served only as listed, and the page says how to install them when missing."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import httpx
import pytest

from sentinai.api.graphiql import MANIFEST
from sentinai.api.graphiql.assets import AssetIntegrityError, Manifest, install
from tests.api.helpers import api_app


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sentinai.test")


def fake_registry(root: Path, files: dict[str, bytes], integrity: str | None = None) -> Manifest:
    """A one-package npm registry on disk (urllib reads file:// URLs) and a manifest pinning it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, content in files.items():
            member = tarfile.TarInfo(path)
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    tarball = buffer.getvalue()
    (root / "widget" / "-").mkdir(parents=True)
    (root / "widget" / "-" / "widget-1.0.0.tgz").write_bytes(tarball)
    pinned = integrity or "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    package = {"name": "widget", "version": "1.0.0", "integrity": pinned, "files": {"widget-1.0.0.js": "package/w.js"}}
    return Manifest.parse(json.dumps({"packages": [package]}))


def test_the_installer_extracts_only_the_listed_files_of_a_tarball_matching_its_pinned_hash(tmp_path):
    manifest = fake_registry(tmp_path / "npm", {"package/w.js": b"widget()", "package/other.js": b"no"})

    written = install(tmp_path / "assets", manifest, registry=(tmp_path / "npm").as_uri())

    assert written == ["widget-1.0.0.js"]
    assert sorted(p.name for p in (tmp_path / "assets").iterdir()) == ["widget-1.0.0.js"]
    assert (tmp_path / "assets" / "widget-1.0.0.js").read_bytes() == b"widget()"
    assert install(tmp_path / "assets", manifest, registry=(tmp_path / "npm").as_uri()) == []


def test_the_installer_refuses_a_tarball_whose_hash_is_not_the_pinned_one_and_writes_nothing(tmp_path):
    forged = "sha512-" + base64.b64encode(hashlib.sha512(b"another tarball").digest()).decode()
    manifest = fake_registry(tmp_path / "npm", {"package/w.js": b"evil()"}, integrity=forged)

    with pytest.raises(AssetIntegrityError, match="not the pinned one"):
        install(tmp_path / "assets", manifest, registry=(tmp_path / "npm").as_uri())
    assert list((tmp_path / "assets").iterdir()) == []


def test_the_manifest_pins_every_package_by_sha512_and_names_each_file_with_its_version():
    for package in MANIFEST.packages:
        assert package.integrity.startswith("sha512-")
        assert all(package.version in name for name in package.files)


@pytest.mark.asyncio
async def test_without_installed_files_the_page_says_how_to_install_them(runtime, tmp_path):
    async with client(api_app(runtime, assets_dir=tmp_path)) as http:
        response = await http.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "sentinai install-assets" in response.text and "<script" not in response.text


@pytest.mark.asyncio
async def test_the_page_loads_only_files_from_this_server(runtime, tmp_path):
    for name in MANIFEST.file_names():
        (tmp_path / name).write_text("/* stand-in */")
    async with client(api_app(runtime, assets_dir=tmp_path)) as http:
        response = await http.get("/graphql", headers={"Accept": "text/html"})

    sources = [*response.text.split('src="')[1:], *response.text.split('href="')[1:]]
    assert sorted(source.split('"')[0] for source in sources) == sorted(
        f"/graphiql/assets/{name}" for name in MANIFEST.file_names()
    )
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.asyncio
async def test_a_listed_file_is_served_for_caching_forever_and_nothing_else_is(runtime, tmp_path):
    name = next(MANIFEST.file_names())
    (tmp_path / name).write_text("/* stand-in */")
    (tmp_path / "secret.txt").write_text("not an asset")
    async with client(api_app(runtime, assets_dir=tmp_path)) as http:
        served = await http.get(f"/graphiql/assets/{name}")
        unlisted = await http.get("/graphiql/assets/secret.txt")
        climbing = await http.get("/graphiql/assets/..%2Fsecret.txt")

    assert served.status_code == 200 and "immutable" in served.headers["cache-control"]
    assert served.headers["content-type"].startswith("text/javascript")
    assert unlisted.status_code == 404 and climbing.status_code == 404


@pytest.mark.asyncio
async def test_production_serves_neither_the_page_nor_its_files(runtime, tmp_path):
    name = next(MANIFEST.file_names())
    (tmp_path / name).write_text("/* stand-in */")
    async with client(api_app(runtime, assets_dir=tmp_path, environment="production")) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        asset = await http.get(f"/graphiql/assets/{name}")

    assert page.status_code == 404 and asset.status_code == 404
