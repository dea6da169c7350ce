"""The shape of the package: the documented module map, module sizes, unique names, engine layering."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "airflow_provider_opslevel"
MAX_LINES = 500
# Airflow adapters; everything else is the engine and must import without Airflow.
ADAPTERS = (
    "hooks/",
    "operators/",
    "webhook/",
    "connections.py",
    "dag_factory.py",
    "get_provider_info.py",
    "cli/connections.py",
)


def _modules() -> list[str]:
    return sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py"))


def _module_map() -> list[str]:
    text = (ROOT / "docs" / "design.md").read_text()
    section = text.split("## Module map", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^    ([\w/]+\.py)\s", section, flags=re.MULTILINE)


def test_the_design_docs_module_map_is_the_tree() -> None:
    listed = _module_map()
    assert len(listed) == len(set(listed)), "a module is listed twice"
    assert sorted(listed) == _modules()


@pytest.mark.parametrize("module", _modules())
def test_no_module_is_over_500_lines(module: str) -> None:
    lines = len((PACKAGE / module).read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def test_no_two_public_classes_share_a_name() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for module in _modules():
        for node in ast.parse((PACKAGE / module).read_text()).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where[node.name].append(module)
    assert {name: places for name, places in where.items() if len(places) > 1} == {}


def test_the_engine_imports_without_airflow() -> None:
    engine = [
        "airflow_provider_opslevel." + module.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        for module in _modules()
        if not module.startswith(ADAPTERS) and not module.endswith("__main__.py") and module != "_jq_child.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {engine!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
