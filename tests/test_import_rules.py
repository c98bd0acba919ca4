"""The import rules of the README ("Apps and who may import whom"), checked on the source.

Every ``import`` and ``from ... import`` of every module, at any depth (a function-level import
is still a dependency), is read with ``ast``; an app may import only the apps below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each package may import of the project's own packages (itself is always allowed).
ALLOWED: dict[str, set[str]] = {
    "members": set(),
    "rewards": {"members"},
    "campaigns": {"members", "rewards"},
    "loyalty_site.staff": {"members", "rewards", "campaigns"},
    "loyalty_site": {"members", "rewards", "campaigns", "loyalty_site.staff"},
    "bench": {"members", "rewards", "campaigns", "loyalty_site", "loyalty_site.staff"},
}
PROJECT = ["loyalty_site.staff", "loyalty_site", "members", "rewards", "campaigns", "bench"]


def package_of(module: str) -> str | None:
    """The project package a dotted module name belongs to (the longest match), or None."""
    for package in PROJECT:  # longest first: loyalty_site.staff before loyalty_site
        if module == package or module.startswith(package + "."):
            return package
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from loyalty_site import staff`` imports the submodule.
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def project_files(package: str) -> list[Path]:
    folder = ROOT.joinpath(*package.split("."))
    files = [path for path in folder.rglob("*.py") if "migrations" not in path.parts]
    if package == "loyalty_site":
        files = [path for path in files if "staff" not in path.relative_to(folder).parts]
    return files


def violations(package: str) -> list[str]:
    allowed = ALLOWED[package] | {package}
    found = []
    for path in project_files(package):
        for line, target in imported_modules(path):
            target_package = package_of(target)
            if target_package is not None and target_package not in allowed:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return sorted(set(found))


@pytest.mark.parametrize("package", list(ALLOWED))
def test_package_imports_only_what_the_rules_allow(package):
    assert project_files(package), f"no module found for {package}"
    assert violations(package) == []


def test_the_checker_sees_a_forbidden_import(tmp_path, monkeypatch):
    """Given a core module importing the staff app (relative and absolute, inside a function),
    the checker reports both lines."""
    fake_root = tmp_path
    core = fake_root / "members"
    core.mkdir()
    (core / "__init__.py").write_text("")
    (core / "admin.py").write_text(
        "def view():\n    from loyalty_site.staff.access import scope_to_stores\n"
        "from campaigns import models\n"
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", fake_root)
    assert violations("members") == [
        "members/admin.py:2 imports loyalty_site.staff.access",
        "members/admin.py:2 imports loyalty_site.staff.access.scope_to_stores",
        "members/admin.py:3 imports campaigns",
        "members/admin.py:3 imports campaigns.models",
    ]


def test_rows_are_locked_only_through_the_one_lock_helper():
    """``members.locks`` is the one place a row lock is taken (always in ascending primary key);
    no other module of the site calls ``select_for_update`` or writes ``FOR UPDATE`` (the
    benchmarks' hand-written floor statements are not the site)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ALLOWED
        if package != "bench"
        for path in project_files(package)
        if path != ROOT / "members" / "locks.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "select_for_update" in line or "FOR UPDATE" in line
    ]
    assert offenders == []
