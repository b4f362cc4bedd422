"""The rooms of the house keep their doors (docs/architecture.md §1): web and worker apart, no import cycle.

The contracts live in .importlinter (import-linter reads every import, inside functions too); this
module runs them, and adds what import-linter does not say: no cycle between any two modules, across
the apps too, and no function-level import between our own Django-side modules (such an import
only hides a cycle) beyond the few whose place is a process boundary, listed here with why.
"""
import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("generation", "avatars", "accounts", "avatarsite")
PIPELINE = "generation.pipeline"  # Django-free: imported where used, so the web loads only what it needs

# (importer, imported): function-level on purpose
FUNCTION_LEVEL_ALLOWED = {
    # AppConfig.ready: the app registry must be ready before these modules (models, signals) load
    ("generation.apps", "generation.worker"),
    ("generation.apps", "generation.web.tokens"),
    ("generation.apps", "generation.lifecycle"),
    ("generation.apps", "generation.quotas"),
    ("generation.apps", "generation.webhooks"),
    # a worker process starts its watchdog; the web process also imports generation.worker (to
    # connect that signal) and must not load the worker's recovery
    ("generation.worker", "generation.worker.recovery"),
}


def test_import_linter_contracts_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache", "--config", str(ROOT / ".importlinter")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_two_modules_import_each_other():
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    cycles = sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if imported != module and not imported.startswith(module + ".") and not module.startswith(imported + ".")
        and graph.chain_exists(importer=imported, imported=module))
    assert not cycles, "import cycles through:\n" + "\n".join(
        " -> ".join(graph.find_shortest_chain(importer=b, imported=a) or (b, a)) + f" -> {b}" for a, b in cycles)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _ours(name: str) -> bool:
    return name.split(".")[0] in PACKAGES and not (name == PIPELINE or name.startswith(PIPELINE + "."))


def _function_level_imports(path: Path):
    """(line, imported module) of each import of our own Django-side modules inside a function."""
    module = _module_name(path)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            elif isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
                names = [f"{inner.module}.{alias.name}" if f"{inner.module}.{alias.name}" in _modules() else inner.module
                         for alias in inner.names]
            else:
                continue
            for name in names:
                if _ours(name) and (module, name) not in FUNCTION_LEVEL_ALLOWED:
                    yield inner.lineno, name


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = _module_name(path)
            if "migrations" not in path.parts and not name.startswith(PIPELINE + "."):
                yield path


_MODULES: set[str] = set()


def _modules() -> set[str]:
    if not _MODULES:
        _MODULES.update(_module_name(path) for package in PACKAGES for path in (ROOT / package).rglob("*.py"))
    return _MODULES


def test_no_function_level_imports_between_our_modules():
    found = [f"{path.relative_to(ROOT)}:{line} imports {name}"
             for path in _sources() for line, name in _function_level_imports(path)]
    assert not found, "import these at the top (a cycle is broken by moving code, not by hiding it):\n" + "\n".join(found)


def test_the_allowed_function_level_imports_are_still_there():
    """An entry that no longer happens is taken out of the list, so the list stays the truth."""
    seen = set()
    for path in _sources():
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and inner.module:
                        seen.update((module, n) for n in [inner.module] + [f"{inner.module}.{a.name}" for a in inner.names])
    assert FUNCTION_LEVEL_ALLOWED <= seen, FUNCTION_LEVEL_ALLOWED - seen
