"""The package's layout rules, checked on its source: who may import whom, and no cycles."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import flux2_widgets
from flux2_widgets import errors

PKG = Path(flux2_widgets.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(module: str) -> bool:
    path = PKG.parent / Path(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Package modules ``path`` imports (at import time only, with ``top_level_only``)."""
    tree = ast.parse(path.read_text())
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.startswith("flux2_widgets"):
                    submodules = {f"{target}.{a.name}" for a in node.names if _exists(f"{target}.{a.name}")}
                    # "from . import _x" imports the submodule; the package is already loading
                    found.update(submodules if submodules and not node.module else {target, *submodules})
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("flux2_widgets"))
            if not top_level_only:
                visit(list(ast.iter_child_nodes(node)))  # type: ignore[arg-type]
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                visit(node.body)

    visit(tree.body)
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def test_no_import_cycles_at_import_time():
    graph = {name: _imports(path, top_level_only=True) for name, path in _modules().items()}
    seen: dict[str, int] = {}

    def walk(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert seen.get(nxt) != 1, "import cycle: " + " -> ".join([*stack, node, nxt])
            if nxt not in seen:
                walk(nxt, [*stack, node])
        seen[node] = 2

    for name in sorted(graph):
        if name not in seen:
            walk(name, [])


def test_who_may_import_whom():
    mods = _modules()
    everything = {name: _imports(path, top_level_only=False) for name, path in mods.items()}
    # the catalog is the root of facts: errors only
    assert everything["flux2_widgets.catalog"] <= {"flux2_widgets.errors"}
    for name, deps in everything.items():
        if name.startswith("flux2_widgets.simulator"):
            outside = {d for d in deps if not d.startswith("flux2_widgets.simulator")}
            assert outside <= {"flux2_widgets.catalog", "flux2_widgets.errors"}, (name, outside)
        if name.startswith("flux2_widgets.widgets"):
            # views ask models; they hold no transport, store or sync bridge of their own
            banned = {"flux2_widgets.client._transport", "flux2_widgets._sync", "flux2_widgets.client._core"}
            assert not deps & banned, (name, deps & banned)
        if name.startswith(("flux2_widgets.client", "flux2_widgets.session", "flux2_widgets.money",
                            "flux2_widgets.results", "flux2_widgets.store")):
            assert not any(d.startswith("flux2_widgets.widgets") for d in deps), (name, deps)
    for name, path in mods.items():
        if name.startswith("flux2_widgets.compare"):
            # models reach their views only through lazy seams (view(), inspect()), never on import
            at_import = _imports(path, top_level_only=True)
            assert not any(d.startswith("flux2_widgets.widgets") for d in at_import), name
    for name, path in mods.items():
        if name.startswith("flux2_widgets.widgets"):
            assert "import httpx" not in path.read_text(), name


def test_every_public_error_class_is_exported():
    names = [n for n, c in vars(errors).items() if inspect.isclass(c) and issubclass(c, errors.Flux2Error)]
    # An old name kept for compatibility (errors.TimeoutError, now APITimeoutError) is the
    # same class under another name: importable, but out of __all__ so that a star import
    # never shadows a builtin.
    classes = [n for n in names if getattr(errors, n).__name__ == n]
    aliases = [n for n in names if n not in classes]
    assert set(classes) <= set(flux2_widgets.__all__) and set(classes) <= set(errors.__all__)
    assert not set(aliases) & set(flux2_widgets.__all__) and not set(aliases) & set(errors.__all__)
    for name in names:
        assert getattr(flux2_widgets, name) is getattr(errors, name)
    assert aliases == ["TimeoutError"] and errors.TimeoutError is errors.APITimeoutError


def test_modules_stay_small_or_say_why():
    for name, path in _modules().items():
        lines = path.read_text().count("\n")
        if lines > 500:
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            assert "one job" in doc.lower(), f"{name}: {lines} lines; split it, or say why in its docstring"


#: What a generation's life is made of: the run's (``runs.Run``), never a view's.
RUN_STATE = {"task", "task_id", "status", "exception", "error", "idempotency_key", "generation",
             "retry_mode", "money", "next_step", "sent", "preview"}


def test_views_keep_no_run_state_of_their_own():
    """Tiles, galleries, comparison views and the Studio draw runs; none assigns a run's state
    (status, task, error, key, money, result) to itself, as an attribute or a trait."""
    drawing_runs = {"tile", "gallery", "comparison_view", "grid_card", "studio", "compare_widget", "_static"}
    for name, path in _modules().items():
        if not name.startswith("flux2_widgets.widgets") or name.rsplit(".", 1)[-1] not in drawing_runs:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets = [node.target]
            for target in targets:
                for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                            and t.value.id == "self"):
                        assert t.attr not in RUN_STATE, f"{name}:{node.lineno} keeps self.{t.attr}"
            if isinstance(node, ast.ClassDef):
                for item in node.body:  # class-level traits (status = Unicode(...))
                    if isinstance(item, ast.Assign):
                        for t in item.targets:
                            if isinstance(t, ast.Name):
                                assert t.id not in RUN_STATE, f"{name}.{node.name} has a trait {t.id}"
