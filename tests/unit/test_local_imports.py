"""An import inside a function is a sign of a cycle: each one left in service/ says why, in a comment.

The layers themselves are import-linter's contracts (pyproject.toml, `lint-imports` in `make test`);
this covers what import-linter cannot see: that a deferred import is there on purpose.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"


def _unexplained(path: Path, root: Path = SERVICE.parent) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        imports = [node for node in ast.walk(function) if isinstance(node, ast.Import | ast.ImportFrom)]
        spans = {n for node in imports for n in range(node.lineno, (node.end_lineno or node.lineno) + 1)}
        for node in imports:
            if "#" in lines[node.lineno - 1]:
                continue
            # A comment on the line above, or above the group of imports this one belongs to.
            number = node.lineno - 1
            while number >= 1 and (number in spans or not lines[number - 1].strip()):
                number -= 1
            if number < 1 or not lines[number - 1].strip().startswith("#"):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


def test_every_import_inside_a_function_says_why() -> None:
    found = [line for path in sorted(SERVICE.rglob("*.py")) for line in _unexplained(path)]
    assert not found, "imports inside functions without a comment saying why (fix the cycle instead):\n" + "\n".join(found)


def test_the_check_finds_an_unexplained_import(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text("def f() -> None:\n    import json\n\n    json.dumps(1)\n\n\ndef g() -> None:\n    # why\n    import json\n")
    assert _unexplained(module, tmp_path) == ["probe.py:2: import json"]
