"""The allowed arrows between the parts (docs/architecture.md §2), checked two ways.

Statically: every .py under app/, worker/ and sdk/slimline_client/ is parsed (nothing is imported) and
its imports, module-level and inside functions, relative ones resolved, are held against the rules.
At run time: importing the app and building it pulls in no engine module.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.helpers.imports import Import, collect, cycles, under

# (directory, the directory its module names are relative to)
SOURCES = [(REPO / "app", REPO), (REPO / "worker", REPO), (REPO / "sdk" / "slimline_client", REPO / "sdk")]
HEAVY = ["torch", "onnxruntime", "worker", "onnxscript", "onnxconverter_common"]
ENDPOINTS = r"app\.(\w+)\.endpoints(?:\..+)?"  # group 1: the domain
ROUTES_OR_SERVICE = r"app\.(\w+)\.(?:service|endpoints)(?:\..+)?"


def _domain(module: str, pattern: str) -> str | None:
    match = re.fullmatch(pattern, module)
    return match.group(1) if match else None


@dataclass(frozen=True, repr=False)
class Rule:
    key: str
    says: str
    applies_to: Callable[[str], bool]
    forbids: Callable[[str, str], bool]  # (importer, target)

    def __repr__(self) -> str:
        return f"rule ({self.key}): {self.says}"


RULES = [
    Rule(
        "a",
        "app/** never imports worker, torch, onnxruntime, onnxscript or onnxconverter_common",
        lambda m: under(m, "app"),
        lambda m, t: under(t, *HEAVY),
    ),
    Rule(
        "b",
        "app/core/** imports nothing else of app, nor worker or slimline_client",
        lambda m: under(m, "app.core"),
        lambda m, t: (under(t, "app") and not under(t, "app.core")) or under(t, "worker", "slimline_client"),
    ),
    Rule(
        "c",
        "worker/engine/** imports of app only app.core.schemas and app.core.safety, of worker only worker.engine",
        lambda m: under(m, "worker.engine"),
        lambda m, t: (
            (under(t, "app") and not under(t, "app.core.schemas", "app.core.safety"))
            or (under(t, "worker") and not under(t, "worker.engine"))
        ),
    ),
    Rule(
        "d",
        "sdk/slimline_client/** never imports app or worker",
        lambda m: under(m, "slimline_client"),
        lambda m, t: under(t, "app", "worker"),
    ),
    Rule(
        "e",
        "app/<x>/endpoints.py never imports app.<y>.service or app.<y>.endpoints of another domain y",
        lambda m: _domain(m, ENDPOINTS) is not None,
        lambda m, t: _domain(t, ROUTES_OR_SERVICE) not in (None, _domain(m, ENDPOINTS)),
    ),
]


def violations(rule: Rule, found: list[Import]) -> list[str]:
    return [
        f"{imp.where()}: {imp.importer} imports {imp.target}"
        for imp in found
        if rule.applies_to(imp.importer) and imp.target != imp.importer and rule.forbids(imp.importer, imp.target)
    ]


FOUND = collect(SOURCES, shown_from=REPO)


@pytest.mark.parametrize("rule", RULES, ids=[f"rule-{r.key}" for r in RULES])
def test_imports_follow_the_allowed_arrows(rule: Rule) -> None:
    wrong = violations(rule, FOUND)
    assert not wrong, f"rule ({rule.key}) {rule.says}: {len(wrong)} import(s) break it\n  " + "\n  ".join(wrong)


def test_rule_f_no_import_cycle_among_app_modules() -> None:
    found = cycles(FOUND, "app")
    assert not found, "rule (f) no import cycle among app/ modules (module-level imports):\n  " + "\n  ".join(found)


RULE_CASES = [  # (rule, importer, imported, broken)
    ("a", "app.jobs.service", "worker.engine", True),
    ("a", "app.uploads.validation.onnx_model", "onnxruntime.quantization", True),
    ("a", "app.uploads.validation.onnx_model", "onnx", False),
    ("b", "app.core.db", "app.jobs.states", True),
    ("b", "app.core.db", "slimline_client", True),
    ("b", "app.core.storage.local", "app.core.storage.base", False),
    ("c", "worker.engine.api", "app.core.schemas.recipe", False),
    ("c", "worker.engine.modelio", "app.core.safety.torch_archive", False),
    ("c", "worker.engine.modelio", "app.core.errors", True),
    ("c", "worker.engine.api", "worker.runner", True),
    ("d", "slimline_client.cli", "app.cli", True),
    ("d", "slimline_client.cli", "slimline_api.client", False),
    ("e", "app.jobs.endpoints", "app.uploads.service", True),
    ("e", "app.jobs.endpoints", "app.uploads.endpoints", True),
    ("e", "app.jobs.endpoints", "app.jobs.service", False),
    ("e", "app.jobs.endpoints", "app.uploads.schemas", False),
    ("e", "app.jobs.service", "app.uploads.service", False),  # services may use each other
]


@pytest.mark.parametrize(("key", "importer", "target", "broken"), RULE_CASES)
def test_each_rule_tells_allowed_from_forbidden(key: str, importer: str, target: str, broken: bool) -> None:
    rule = next(r for r in RULES if r.key == key)
    assert (rule.applies_to(importer) and rule.forbids(importer, target)) is broken


def test_the_scanner_sees_relative_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "from . import b\n\ndef f():\n    from .sub import c\n",
        "pkg/b.py": "from typing import TYPE_CHECKING\nfrom pkg.a import f\nif TYPE_CHECKING:\n    import torch\n",
        "pkg/sub/__init__.py": "from ..b import f\n",
        "pkg/sub/c.py": "import os.path\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    scanned = collect([(tmp_path / "pkg", tmp_path)], shown_from=tmp_path)
    found = {(i.importer, i.target, i.module_level) for i in scanned}
    assert found == {
        ("pkg.a", "pkg.b", True),
        ("pkg.a", "pkg.sub.c", False),
        ("pkg.b", "typing", True),
        ("pkg.b", "pkg.a", True),
        ("pkg.b", "torch", False),
        ("pkg.sub", "pkg.b", True),
        ("pkg.sub.c", "os.path", True),
    }
    assert cycles(scanned, "pkg") == ["cycle: pkg.a (pkg/a.py:1) -> pkg.b; pkg.b (pkg/b.py:2) -> pkg.a"]


def test_importing_the_app_pulls_in_no_engine_modules() -> None:
    code = (
        "import json, sys\n"
        "import app, app.main, app.cli, app.jobs.endpoints, app.uploads.endpoints, app.uploads.validation\n"
        "import app.jobs.lifecycle\n"
        "app.main.create_app()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"SLIMLINE_DATA_DIR": "/tmp/slimline-boundary-test", "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
