"""The package declares what it imports, the requirements files pick pyproject's extras, and the
layers contract holds (``lint-imports``)."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imported_distributions() -> set[str]:
    """The distributions of every third-party module the package imports."""
    owners = metadata.packages_distributions()
    modules = set()
    for path in (ROOT / "reranker").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    modules -= {*sys.stdlib_module_names, "reranker"}
    return {owner.lower().replace("_", "-") for module in modules for owner in owners.get(module, [module])}


def test_every_imported_package_is_declared():
    declared = {_name(r) for r in PROJECT["dependencies"]}
    declared |= {_name(r) for r in PROJECT["optional-dependencies"]["cpu"] + PROJECT["optional-dependencies"]["gpu"]}
    assert _imported_distributions() - declared == set()


def test_requirements_files_install_the_project_with_its_extras():
    expected = {"requirements.txt": "-e .[cpu]", "requirements-dev.txt": "-e .[cpu,dev]",
                "requirements-gpu.txt": "-e .[gpu]"}  # fmt: skip
    for name, line in expected.items():
        lines = [row.strip() for row in (ROOT / name).read_text().splitlines() if row.strip() and not row.startswith("#")]
        assert lines == [line], name


def test_the_console_command_is_the_cli():
    assert PROJECT["scripts"] == {"faq-rerank-desk": "reranker.cli.main:main"}


def test_the_layers_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in done.stdout
