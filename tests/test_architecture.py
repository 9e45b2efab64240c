"""The folder tree is the architecture: imports only point down the layers, read from the source.

Every module's imports (including those inside functions) are parsed with `ast`, so a layer
broken only at run time, or only while type checking, is caught as well.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import ROOT

PACKAGE_DIR = ROOT / "scoreboard"

# Bottom to top. A module may import from its own layer and the layers below it, never above.
# Entries are module names or package prefixes (`scoreboard.domain` covers a `domain/`
# package too); the longest matching entry wins. A new module that matches no entry fails
# test_every_module_has_a_layer: place it here on purpose.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The score logic and its failures: the standard library only (test_domain_is_stdlib_only).
    ("domain", ("scoreboard.errors", "scoreboard.domain")),
    # What the layers above share: settings, shipped data, logging, message and request shapes,
    # the cross-instance stream, reads shared by concurrent callers.
    ("support", ("scoreboard.settings", "scoreboard.resources", "scoreboard.logs", "scoreboard.redact",
                 "scoreboard.schemas", "scoreboard.schema_fastpath", "scoreboard.frames", "scoreboard.bridge",
                 "scoreboard.text", "scoreboard.shared_calls")),
    ("store", ("scoreboard.store",)),
    # notify: the notifier beside the service, on the stores (web/api/push.py is its edge).
    # presence: the "N watching" counts, from the hub, shared through Redis in Redis mode.
    ("service", ("scoreboard.service", "scoreboard.hub", "scoreboard.notify", "scoreboard.presence")),
    ("web", ("scoreboard.web",)),
    # Wiring and entry points: nothing imports these.
    # listener: the listening socket under aiohttp's server; workers: the process supervisor.
    ("top", ("scoreboard", "scoreboard.web.app", "scoreboard.server", "scoreboard.__main__", "scoreboard.replay",
             "scoreboard.listener", "scoreboard.workers")),
)
RANK = {prefix: rank for rank, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes}
LAYER_NAMES = [name for name, _ in LAYERS]


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def load_modules() -> dict[str, Module]:
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = Module(name, path, ast.parse(path.read_text(), str(path)))
    return modules


MODULES = load_modules()


def imports(module: Module) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement in `module`, relative ones resolved."""
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from . import api`: the name is a submodule when there is one by that name.
            submodules = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES]
            found += [(name, node.lineno) for name in submodules or [target]]
    return found


def rank_of(name: str) -> int | None:
    # "scoreboard" itself (its __init__) is placed, not everything under it.
    candidates = [prefix for prefix in RANK
                  if name == prefix or (prefix != "scoreboard" and name.startswith(prefix + "."))]
    return RANK[max(candidates, key=len)] if candidates else None


def ours(name: str) -> bool:
    return name == "scoreboard" or name.startswith("scoreboard.")


def test_every_module_has_a_layer() -> None:
    """Each module of the package sits in exactly one named layer of LAYERS."""
    assert MODULES, "no modules found"
    placeless = [name for name in MODULES if rank_of(name) is None]
    assert not placeless, f"modules with no layer (add them to LAYERS in {__file__}): {placeless}"


def test_no_import_points_up_a_layer() -> None:
    """domain <- support <- store <- service/hub <- web <- wiring: never an arrow the other way."""
    upward = []
    for module in MODULES.values():
        rank = rank_of(module.name)
        for target, line in imports(module):
            target_rank = rank_of(target) if ours(target) else None
            if rank is not None and target_rank is not None and target_rank > rank:
                upward.append(f"{module.path.relative_to(ROOT)}:{line}: {module.name} ({LAYER_NAMES[rank]}) "
                              f"imports {target} ({LAYER_NAMES[target_rank]})")
    assert not upward, "imports pointing up a layer:\n" + "\n".join(upward)


def test_only_the_entry_points_import_the_web_edge() -> None:
    """Outside scoreboard/web/, only the wiring at the top (server, __main__) imports scoreboard.web."""
    top = RANK["scoreboard.server"]
    found = [f"{module.name} imports {target} (line {line})"
             for module in MODULES.values() if not module.name.startswith("scoreboard.web")
             for target, line in imports(module)
             if target.startswith("scoreboard.web") and rank_of(module.name) != top]
    assert not found, "\n".join(found)


def test_domain_is_stdlib_only() -> None:
    """The score logic imports the standard library and the domain layer, nothing else."""
    domain_rank = RANK["scoreboard.domain"]
    found = []
    for module in MODULES.values():
        if rank_of(module.name) != domain_rank:
            continue
        for target, line in imports(module):
            top_name = target.partition(".")[0]
            if ours(target):
                if rank_of(target) != domain_rank:
                    found.append(f"{module.name}:{line} imports {target}")
            elif top_name not in sys.stdlib_module_names and top_name != "__future__":
                found.append(f"{module.name}:{line} imports {target} (not the standard library)")
    assert not found, "\n".join(found)


# Outbound HTTP (push services, webhook receivers) is a client's job, below the web edge: these
# modules may use aiohttp's client, and nothing below the edge may use its server side.
OUTBOUND_HTTP = {"scoreboard.notify.sender", "scoreboard.notify.webhooks", "scoreboard.notify.guard"}
AIOHTTP_SERVER = ("aiohttp.web", "aiohttp_jinja2", "aiohttp_sse")


def test_nothing_below_the_web_edge_imports_aiohttp() -> None:
    """The store, hub, service and what they use know no HTTP server or request object; only
    the notifier's outbound modules use aiohttp's client."""
    web_rank = RANK["scoreboard.web"]
    found = [f"{module.name}:{line} imports {target}"
             for module in MODULES.values() if (rank_of(module.name) or 0) < web_rank
             for target, line in imports(module) if target.partition(".")[0].startswith("aiohttp")
             and (module.name not in OUTBOUND_HTTP or target.startswith(AIOHTTP_SERVER))]
    assert not found, "\n".join(found)


def test_close_codes_are_defined_once() -> None:
    """A WebSocket close code number is given a name only in web/live/close_codes.py (CloseCode)."""
    home = PACKAGE_DIR / "web" / "live" / "close_codes.py"
    found = []
    for module in MODULES.values():
        if module.path == home:
            continue
        for node in ast.walk(module.tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Constant):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [ast.unparse(target) for target in targets]
                value = node.value.value
                if (isinstance(value, int) and 1000 <= value <= 4999
                        and any("close" in name.lower() for name in names)):
                    found.append(f"{module.path.relative_to(ROOT)}:{node.lineno}: {', '.join(names)} = {value}")
    assert not found, "use CloseCode instead:\n" + "\n".join(found)


def test_the_layer_check_sees_an_upward_import() -> None:
    """The checker itself: a store module importing the web edge is reported, a relative import resolved."""
    source = "from ..web.keys import HUB_KEY\nfrom . import base\n"
    module = Module("scoreboard.store.fake", PACKAGE_DIR / "store" / "fake.py", ast.parse(source))
    assert imports(module) == [("scoreboard.web.keys", 1), ("scoreboard.store.base", 2)]
    assert rank_of("scoreboard.web.keys") > rank_of("scoreboard.store.fake")
    assert rank_of("scoreboard.domain.clock") == RANK["scoreboard.domain"]
    assert rank_of("scoreboard.newcomer") is None


# TODO(edge engineer, issue 13 item 3): framing and socket writes move to the WebSocket edge.
# Modules that write to a file descriptor that is no client's socket, and why.
NOT_A_SOCKET = {
    "scoreboard.notify.worker": "the push worker's result pipe to the server",
    "scoreboard.store.lockfile": "the pid written into the store's lock file",
}


def test_only_the_websocket_edge_builds_frames_or_touches_fds() -> None:
    """Outside scoreboard/web/live/, no module frames WebSocket messages or writes to a file
    descriptor (but the pipes and files named in NOT_A_SOCKET)."""
    edge = PACKAGE_DIR / "web" / "live"
    found = []
    for module in MODULES.values():
        if module.path.is_relative_to(edge) or module.name in NOT_A_SOCKET:
            continue
        for node in ast.walk(module.tree):
            text = ast.unparse(node) if isinstance(node, (ast.Call, ast.FunctionDef, ast.Attribute)) else ""
            if isinstance(node, ast.FunctionDef) and node.name.startswith("websocket_"):
                found.append(f"{module.name}:{node.lineno}: defines {node.name}")
            elif isinstance(node, ast.Attribute) and text in ("os.write", "os.writev", "socket.send"):
                found.append(f"{module.name}:{node.lineno}: uses {text}")
            elif isinstance(node, ast.Attribute) and node.attr == "fileno":
                found.append(f"{module.name}:{node.lineno}: uses .fileno()")
    assert not found, "\n".join(found)


# What of aiohttp the WebSocket hand-off uses beyond its documented API (web/live/handoff.py).
AIOHTTP_INTERNALS = ("set_parser", "_message_tail", "_payload_parser", "_upgraded")


def test_the_aiohttp_hand_off_finds_everything_it_uses() -> None:
    """Every private aiohttp attribute the WebSocket take-over needs is still there; when an
    aiohttp release moves one, this fails naming it (and so does the server at start-up)."""
    from scoreboard.web.live.handoff import missing

    assert not missing(), "aiohttp moved what web/live/handoff.py uses:\n" + "\n".join(missing())


def test_a_moved_aiohttp_attribute_stops_the_server_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `RequestHandler.set_parser`, create_app refuses with a line naming it."""
    from aiohttp.web_protocol import RequestHandler

    from scoreboard.settings import Settings
    from scoreboard.web.app import create_app
    from scoreboard.web.live.handoff import AiohttpMoved

    monkeypatch.delattr(RequestHandler, "set_parser")
    with pytest.raises(AiohttpMoved, match=r"RequestHandler\.set_parser"):
        create_app(Settings(db=":memory:"))


def test_only_the_hand_off_names_aiohttp_internals() -> None:
    """No module but web/live/handoff.py reaches into aiohttp's protocol (set_parser, its
    parser's tail) or cuts aiohttp off its transport."""
    found = []
    for module in MODULES.values():
        if module.name == "scoreboard.web.live.handoff":
            continue
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute) and node.attr in AIOHTTP_INTERNALS:
                found.append(f"{module.name}:{node.lineno}: uses .{node.attr}")
            elif isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Attribute) and target.attr == "transport" for target in node.targets
            ) and isinstance(node.value, ast.Constant) and node.value.value is None:
                found.append(f"{module.name}:{node.lineno}: sets a protocol's transport to None")
    assert not found, "\n".join(found)
