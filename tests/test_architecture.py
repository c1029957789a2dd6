"""Contracts on imports, so the structure stays as the issue left it (pyproject's
[tool.importlinter]): screens and widgets never import the app, nothing in `reflect` imports
the test stand-ins, and the core's modules import each other without cycles. That the core
never loads Textual is checked by tests/test_import_hygiene.py.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = 3

LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"
)


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LINT], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {CONTRACTS} kept, 0 broken." in result.stdout


# The vault's objects are read and written by reflect.store alone, under names from
# reflect.records: which objects exist in an encrypted vault is its security boundary.
_VAULT_OWNERS = {"reflect/vault.py", "reflect/store.py"}
_OBJECT_CALLS = {"put", "get", "delete", "names", "transaction", "open_stream"}
_LAYOUT_OWNER = "reflect/records.py"
_RECORD_PREFIXES = {"session/", "index/", "audio/", "pending/", "recap/", "agreement-status"}


def _is_vault(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name.lstrip("_") in ("vault", "tx")


def _vault_access(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            if attr in ("transaction", "open_stream") or (
                attr in _OBJECT_CALLS and _is_vault(node.func.value)
            ):
                found.append((node.lineno, attr))
    return found


def _record_names(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in _RECORD_PREFIXES
    ]


def _core_modules() -> list[tuple[str, ast.AST]]:
    return [
        (path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted((ROOT / "reflect").rglob("*.py"))
    ]


def test_only_the_store_opens_the_vaults_objects() -> None:
    outside = {
        module: calls
        for module, tree in _core_modules()
        if module not in _VAULT_OWNERS and (calls := _vault_access(tree))
    }
    assert outside == {}


def test_the_store_is_seen_opening_them() -> None:
    # The check above would pass on nothing: it must see the store's own calls.
    store = dict(_core_modules())["reflect/store.py"]
    assert {attr for _, attr in _vault_access(store)} >= {"transaction", "get", "open_stream"}


def test_record_names_come_from_the_layout_module() -> None:
    modules = dict(_core_modules())
    assert _record_names(modules[_LAYOUT_OWNER])
    outside = {
        module: names
        for module, tree in modules.items()
        if module != _LAYOUT_OWNER and (names := _record_names(tree))
    }
    assert outside == {}
