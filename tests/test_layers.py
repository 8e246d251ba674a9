"""The package's floors stack as README draws them: no module imports from a floor above its own, and no modules
import each other in a circle."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dnabert_nb"
#: From the ground up. Private helpers at the top of the package stand on the ground floor; the command line, the
#: package's own ``__init__`` and ``testing`` on the roof.
FLOORS = ["dna", "io", "datasets", "core", "training", "interpret", "designer", "pl", "widgets"]
GROUND, ROOF = {"_docs", "_deprecation"}, {"__init__", "__main__", "cli", "testing"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor(module: str) -> int:
    part = module.split(".")[1] if "." in module else "__init__"
    if part in GROUND:
        return 0
    if part in ROOF:
        return len(FLOORS)
    return FLOORS.index(part)


def imports(path: Path) -> list[tuple[str, int]]:
    """``(module, line)`` of each import of a dnabert_nb module in ``path``, inside functions too; imports for type
    checkers only are left out."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.startswith("dnabert_nb"):
                    for alias in child.names:  # "from . import io" names a module, "from .x import y" a name in x
                        named = f"{target}.{alias.name}"
                        is_module = (PACKAGE.parent / f"{named.replace('.', '/')}.py").exists() or (
                            PACKAGE.parent / named.replace(".", "/")
                        ).is_dir()
                        found.append((named if is_module else target, child.lineno))
            elif isinstance(child, ast.Import):
                found.extend((a.name, child.lineno) for a in child.names if a.name.startswith("dnabert_nb"))
            visit(child)

    visit(tree)
    return found


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def test_no_module_imports_from_a_floor_above_its_own():
    upward = [
        f"{path.relative_to(PACKAGE.parent)}:{line} ({name}, floor {floor(name)}) imports {target} (floor "
        f"{floor(target)})"
        for name, path in modules().items()
        for target, line in imports(path)
        if target != "dnabert_nb" and floor(target) > floor(name)
    ]
    assert not upward, "\n".join(upward)


def test_no_modules_import_each_other_in_a_circle():
    known = modules()
    graph = {
        name: {target for target, _ in imports(path) if target in known and target != name}
        for name, path in known.items()
    }
    for name in graph:  # a package's __init__ runs before any module inside it: not part of a circle of modules
        graph[name] = {target for target in graph[name] if not name.startswith(target + ".")}
    circles, state, stack = [], {}, []

    def walk(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                circles.append(" -> ".join(stack[stack.index(target) :] + [target]))
            elif target not in state:
                walk(target)
        stack.pop()
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            walk(name)
    assert not circles, "\n".join(circles)


def test_no_public_name_hides_a_subpackage_or_a_builtin():
    import builtins
    import importlib
    import types

    import dnabert_nb as dn

    subpackages = sorted(path.parent.name for path in PACKAGE.glob("*/__init__.py"))
    exposed = {name: getattr(dn, name, None) for name in subpackages}
    hiding = [name for name, value in exposed.items() if value is not None and not isinstance(value, types.ModuleType)]
    assert not hiding, f"dn.<name> is not the subpackage for {hiding}"
    shadowing = [
        f"{package}.{name}"
        for package in ["dnabert_nb", *(f"dnabert_nb.{name}" for name in subpackages)]
        for name in getattr(importlib.import_module(package), "__all__", [])
        if name in dir(builtins)
    ]
    assert not shadowing, f"public names that shadow Python's builtins: {shadowing}"


def test_no_function_body_is_longer_than_a_reader_can_hold():
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) is not None else node.body
                lines = body[-1].end_lineno - body[0].lineno + 1 if body else 0
                if lines > (60 if node.name == "finetune" else 80):
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert not long, long
