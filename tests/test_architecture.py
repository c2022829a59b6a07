"""The import structure, read from every module's AST: the pipeline's layers import downward only, codegen
sees nothing of symnet but the IR and the error types, no import inside a function crosses between the two
packages, and the module graph has no cycle."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("symnet", "codegen")

#: each layer may import itself and the layers listed before it (symnet.errors is everyone's)
LAYERS = [
    ("errors", ["symnet.errors"]),
    ("core", ["symnet.core"]),
    ("backend", ["codegen", "symnet.backend", "symnet.stored", "symnet.pipeline"]),
    ("frontend", ["symnet.frontend"]),
    ("library", ["symnet.nn", "symnet.optim", "symnet.data", "symnet.printing", "symnet.gradcheck",
                 "symnet.checkpoint", "symnet.whole_module", "symnet.autograd", "symnet.func", "symnet.utils",
                 "symnet.cuda", "symnet.accelerator", "symnet.backends", "symnet.distributions"]),
    ("train", ["symnet.train"]),
    ("entry", ["symnet.cli", "symnet.__main__", "symnet"]),
]
#: the IR, the errors, and the lazy binding of SymPy that every module shares (``symnet.core.lazy``)
CODEGEN_MAY_IMPORT = {"symnet.core.ir", "symnet.errors", "symnet.core.lazy"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The project modules an import statement loads (a name that is a submodule counts as that module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] in PACKAGES]
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    if base.split(".")[0] not in PACKAGES:
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def imports(module: str) -> tuple[list[str], list[str]]:
    """Module-level and function-level project imports of a module (``TYPE_CHECKING`` blocks excluded)."""
    tree = ast.parse(MODULES[module].read_text())
    top, nested = [], []

    def visit(node, inside_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                (nested if inside_function else top).extend(resolve(module, child))
            visit(child, inside_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(tree, False)
    return top, nested


def layer(module: str) -> int:
    best = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    assert best is not None, f"{module} belongs to no layer"
    return best[0]


def test_every_module_is_in_a_layer_and_imports_downward():
    wrong = []
    for module in MODULES:
        top, _ = imports(module)
        wrong += [f"{module} → {target}" for target in top if layer(target) > layer(module)]
    assert not wrong, "imports against the pipeline's direction:\n" + "\n".join(wrong)


def test_codegen_imports_nothing_of_symnet_but_the_ir_and_the_errors():
    wrong = []
    for module in (m for m in MODULES if m.startswith("codegen")):
        top, nested = imports(module)
        wrong += [f"{module} → {t}" for t in top + nested if t.startswith("symnet") and t not in CODEGEN_MAY_IMPORT]
    assert not wrong, "\n".join(wrong)


def test_no_function_level_import_crosses_the_boundary():
    wrong = []
    for module in MODULES:
        _, nested = imports(module)
        wrong += [f"{module} → {t}" for t in nested if t.split(".")[0] != module.split(".")[0]]
    assert not wrong, "\n".join(wrong)


def test_the_module_graph_has_no_cycle():
    graph = {m: {t for t in imports(m)[0] if t in MODULES and t != m} for m in MODULES}
    state: dict[str, int] = {}

    def walk(m, path):
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                pytest.fail("import cycle: " + " → ".join([*path[path.index(t):], t]))
            if t not in state:
                walk(t, [*path, t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            walk(m, [m])


@pytest.mark.parametrize("first", ["codegen", "symnet", "symnet.core.ir"])
def test_any_package_can_be_imported_first(first):
    code = f"import {first}; import symnet, codegen; print(symnet.backend.name())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
