#!/usr/bin/env python3
"""One entry point for a fresh machine with only Python: it builds ./.venv when needed.

python3 dev.py demo [--port 8000]   start the API with demo data on the embedded PostgreSQL
python3 dev.py test [pytest args]   run the whole test suite
python3 dev.py sentinai ARGS…       any `sentinai` command inside the environment
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".sentinai-installed"


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment() -> None:
    """Create the virtualenv and install the project (with test tools) and GraphiQL's browser
    files, each unless already current."""
    if sys.version_info < (3, 11):
        sys.exit(f"SentinAI needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not (STAMP.exists() and STAMP.read_text() == _fingerprint()):
        print("installing dependencies into .venv (first run only) …", flush=True)
        pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
        STAMP.write_text(_fingerprint())
    # GraphiQL's browser files come from the npm registry, checked against the manifest's hashes;
    # fetched again only when the manifest or SENTINAI_ASSETS_DIR changes. The API works without
    # them (its GraphiQL page then says how to install them), so a failure here is only a warning.
    manifest = ROOT / "src" / "sentinai" / "api" / "graphiql" / "manifest.json"
    assets_stamp = VENV / ".sentinai-assets-installed"
    wanted = hashlib.sha256(manifest.read_bytes()).hexdigest() + os.environ.get("SENTINAI_ASSETS_DIR", "")
    if assets_stamp.exists() and assets_stamp.read_text() == wanted:
        return
    if subprocess.call([str(BIN / "sentinai"), "install-assets"]) == 0:
        assets_stamp.write_text(wanted)
    else:
        print("warning: GraphiQL will not load until `python3 dev.py sentinai install-assets` succeeds", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "sentinai"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_environment()
    os.chdir(ROOT)
    if command == "test":
        return _become([str(BIN / "python"), "-m", "pytest", *rest])
    if command == "demo":
        return _become([str(BIN / "sentinai"), "serve", "--demo", *rest])
    return _become([str(BIN / "sentinai"), *rest])


def _become(command: list[str]) -> int:
    """Replace this process with `command`, so signals reach it directly.

    A parent that waits would have to forward SIGTERM (or leave the server orphaned on its
    port) and would receive a terminal's Ctrl-C together with its child (two tracebacks, and a
    forwarded second SIGINT that makes uvicorn skip its graceful shutdown). Windows has no
    exec: there the child runs and is waited for, and Ctrl-C reaches both anyway.
    """
    if os.name != "nt":
        os.execv(command[0], command)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
