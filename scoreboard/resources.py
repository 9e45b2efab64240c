"""The folders the package ships besides its code: templates/, static/ and config/.

They sit at the top of the repository (the project's layout) and are reached as
`scoreboard/templates`, `scoreboard/static` and `scoreboard/config`: in a checkout through
symbolic links in the package folder, in a built wheel as package data copied through those
links (setup.cfg `package_data`). So one lookup, `importlib.resources.files("scoreboard")`,
finds them in a plain checkout, an editable install and an installed wheel alike.

Why links rather than setuptools' `package_dir` mapping (`scoreboard.templates = templates`):
a mapped folder without `__init__.py` builds into a wheel but cannot be imported from an
editable install (pypa/setuptools#4943), which is how `make run` and the tests run.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE = "scoreboard"
TEMPLATES = "templates"
STATIC = "static"
CONFIG = "config"
DEFAULT_CONFIG = "default.toml"


def data_dir(name: str) -> Path:
    """One of the shipped folders as a directory on disk (aiohttp serves files from a path).

    Raises RuntimeError when it is missing, as in a wheel built without its package data.
    """
    folder = resources.files(PACKAGE) / name
    if not isinstance(folder, Path) or not folder.is_dir():
        raise RuntimeError(f"{PACKAGE}: the {name}/ folder is missing from the installed package "
                           f"(looked in {folder}); reinstall it with `pip install .`")
    return folder


def default_config_text() -> str:
    """config/default.toml, the one place every setting's default is written."""
    return (resources.files(PACKAGE) / CONFIG / DEFAULT_CONFIG).read_text(encoding="utf-8")
