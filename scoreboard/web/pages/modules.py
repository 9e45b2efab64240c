"""Which static ES modules a page's script imports, for `<link rel="modulepreload">`.

A browser discovers a module's imports only after fetching it, so a page whose script imports
modules that import others waits one round trip per level before it can open its live
connection. Listing the whole graph in the page's <head> fetches it at once. The graph is read
from the files themselves (their relative `import ... from "./x.js"` lines), so it cannot drift
from the code; it is read once, at start-up, never on the event loop.
"""
from __future__ import annotations

import re
from pathlib import Path

_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^"'`]*?["']\./([\w.-]+\.js)["']""", re.MULTILINE)


class ModuleGraph:
    """Every module of a static folder with the modules it imports, directly or not."""

    def __init__(self, static_dir: Path) -> None:
        imports = {
            path.name: _IMPORT.findall(path.read_text(encoding="utf-8"))
            for path in sorted(static_dir.glob("*.js"))
        }
        self._graph = {name: self._walk(name, imports) for name in imports}

    @staticmethod
    def _walk(entry: str, imports: dict[str, list[str]]) -> tuple[str, ...]:
        found = [entry]
        for name in found:   # grows while we walk it: breadth-first
            found.extend(dep for dep in imports.get(name, ()) if dep not in found)
        return tuple(found)

    def modules(self, entry: str) -> tuple[str, ...]:
        """`entry` and what it imports, breadth-first; () for no entry or an unknown one."""
        return self._graph.get(entry, ())
