"""The built wheel runs on its own: installed in a fresh virtualenv outside the checkout, it
serves its pages, static files and API docs from the package data it carries."""
from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from support import ROOT, ServerProcess, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# What a build needs from the checkout; scoreboard/ holds the links to the three data folders.
BUILD_INPUTS = ("setup.cfg", "setup.py", "pyproject.toml", "README.md", "scoreboard", "templates", "static", "config")


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv, outside the checkout, with the wheel built from this checkout and its `fast` extra."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so no stale build/ of the checkout can leak into the wheel
    source.mkdir()
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    dist = work / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", dist, source, cwd=work)
    [wheel] = dist.glob("scoreboard-*.whl")
    venv = work / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=work)
    run(venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", f"{wheel}[fast]", cwd=work)
    shutil.rmtree(source)  # nothing of the checkout is left to fall back on
    return venv


def test_wheel_carries_the_data_folders(installed: Path, tmp_path: Path) -> None:
    """The installed package is the venv's copy, and it holds every template, static file and the defaults."""
    probe = ("import importlib.resources as r, scoreboard; print(scoreboard.__file__); "
             "root = r.files('scoreboard'); "
             "print(*sorted(f'{d}/{p.name}' for d in ('templates', 'static', 'config') for p in (root / d).iterdir()))")
    location, files = run(installed / "bin" / "python", "-c", probe, cwd=tmp_path).splitlines()
    assert Path(location).is_relative_to(installed)
    expected = sorted(f"{folder}/{path.name}" for folder in ("templates", "static", "config")
                      for path in (ROOT / folder).iterdir())
    assert files.split() == expected


def test_installed_wheel_serves_pages_static_files_and_docs(installed: Path, tmp_path: Path) -> None:
    """`scoreboard serve` from the wheel, in an empty directory, answers /, /static/widget.js and /api/docs."""
    run_dir = tmp_path / "empty"
    run_dir.mkdir()
    server = ServerProcess(port=free_port(), db=tmp_path / "wheel.db",
                           command=(str(installed / "bin" / "scoreboard"),), cwd=run_dir)
    server.start(env={"PYTHONPATH": ""}, timeout=30)
    try:
        pages = {}
        for path in ("/", "/static/widget.js", "/api/docs"):
            with urllib.request.urlopen(server.url + path, timeout=5) as response:
                assert response.status == 200, path
                pages[path] = response.read()
        assert b"<html" in pages["/"]
        assert pages["/static/widget.js"] == (ROOT / "static" / "widget.js").read_bytes()
        assert b"/api/matches" in pages["/api/docs"]
    finally:
        assert server.stop() == 0
    assert list(run_dir.iterdir()) == []  # the SQLite file went where --db said, nothing else
