"""The house keeps its shape: no import circles, and arrows only where DESIGN.md draws them.

The library's import graph is read from the source (every ``import`` statement anywhere in a
file, inside functions too; imports under ``if TYPE_CHECKING:`` are not run and do not count):

- no circle among the library's modules (a package ``__init__`` is a module of its own);
- ``inversion``, ``interpret`` and ``probes`` import the base (``embedlens`` without its
  application, ``embedlens.audit`` and ``embedlens.cli``) and not one another;
- the base imports none of them and not the application; only ``embedlens/__init__.py``
  re-exports the ``audit`` function;
- nothing but the CLI imports the CLI.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("embedlens", "interpret", "inversion", "probes")
APPLICATION = ("embedlens.audit", "embedlens.cli")


def library_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the four packages."""
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for file in sorted((root / package).rglob("*.py")):
            parts = list(file.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = file
    return out


def _runtime_nodes(tree: ast.AST, *, typed: bool = False) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run: everything outside ``if TYPE_CHECKING:`` blocks (those too
    with ``typed=True``)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if not typed and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph(root: Path = ROOT, *, typed: bool = False) -> dict[str, set[str]]:
    """Module -> the library modules it imports (the longest module prefix of each name).

    ``typed=True`` counts the imports made for type checking only, too.
    """
    modules = library_modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, file in modules.items():
        is_package = file.name == "__init__.py"
        targets: set[str] = set()
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in _runtime_nodes(tree, typed=typed):
            if isinstance(node, ast.Import):
                found = [resolve(alias.name) for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    package = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}" if base else package
                found = [resolve(f"{base}.{alias.name}") or resolve(base) for alias in node.names]
            targets.update(t for t in found if t is not None and t != name)
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def broken_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Every import that crosses a boundary of DESIGN.md's layout, as ``"a -> b"``."""
    bad = []
    for source, targets in sorted(graph.items()):
        top = source.split(".")[0]
        for target in sorted(targets):
            target_top = target.split(".")[0]
            if _within(target, ("embedlens.cli",)) and not _within(source, ("embedlens.cli",)):
                bad.append(f"{source} -> {target} (only the CLI imports the CLI)")
            elif top in ("inversion", "interpret", "probes"):
                if target_top not in (top, "embedlens") or _within(target, APPLICATION):
                    bad.append(f"{source} -> {target} ({top} imports only itself and the base)")
            elif top == "embedlens" and not _within(source, APPLICATION):
                if source == "embedlens" and _within(target, ("embedlens.audit",)):
                    continue  # the re-exports of the audit function and its result
                if target_top != "embedlens" or _within(target, APPLICATION):
                    bad.append(f"{source} -> {target} (the base imports only the base)")
    return bad


def test_the_graph_reads_every_library_module_and_real_arrows():
    graph = import_graph()
    assert {"embedlens", "embedlens.soft.model", "inversion.inverter", "probes.linear"} <= set(
        graph
    )
    assert "embedlens.soft.model" in graph["inversion.inverter"]
    assert "interpret.explain.prompting" in graph["interpret.explain.explainer"]


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_no_import_circles_even_through_type_only_imports():
    # a module that needs another's type names the attributes it reads (a Protocol) instead
    assert circles(import_graph(typed=True)) == []


def test_arrows_follow_the_design():
    assert broken_arrows(import_graph()) == []


def test_the_checks_catch_circles_and_crossed_arrows():
    graph = {
        "embedlens.data": {"embedlens.corpora"},
        "embedlens.corpora": {"embedlens.data"},
        "inversion.inverter": {"interpret.explain", "embedlens.soft.model"},
        "embedlens.models": {"embedlens.audit.run"},
        "probes.linear": {"embedlens.cli"},
    }
    assert circles(graph) == [["embedlens.corpora", "embedlens.data"]]
    assert [a.split(" (")[0] for a in broken_arrows(graph)] == [
        "embedlens.models -> embedlens.audit.run",
        "inversion.inverter -> interpret.explain",
        "probes.linear -> embedlens.cli",
    ]


def test_type_checking_imports_do_not_count(tmp_path):
    package = tmp_path / "inversion"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from inversion.b import B\n"
        "def f():\n    from inversion import b\n"
    )
    (package / "b.py").write_text("from inversion.a import f\n")
    for name in ("embedlens", "interpret", "probes"):
        (tmp_path / name).mkdir()
    graph = import_graph(tmp_path)
    assert graph["inversion.a"] == {"inversion.b"}  # the lazy import counts, the typed one not
    assert circles(graph) == [["inversion.a", "inversion.b"]]
    assert import_graph(tmp_path, typed=True)["inversion.a"] == {"inversion.b"}
    (package / "b.py").write_text("")
    assert circles(import_graph(tmp_path)) == []
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import inversion.a\n"
    )
    assert circles(import_graph(tmp_path)) == []
    assert circles(import_graph(tmp_path, typed=True)) == [["inversion.a", "inversion.b"]]
