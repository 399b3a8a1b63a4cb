"""What setup.py compiles: every ``.pyx`` under ``src/ssedelta``, named after its place in the package."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

SETUP = Path(__file__).resolve().parents[1] / "setup.py"


def load_setup() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ssedelta_setup", SETUP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not __main__: defines the helpers, builds nothing
    return module


def test_every_pyx_is_a_module_named_after_its_path(tmp_path: Path) -> None:
    for name in ("ssedelta/_a_c.pyx", "ssedelta/sub/_x_c.pyx", "ssedelta/sub/deeper/_y_c.pyx"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "ssedelta" / "_slots.pxd").write_text("")
    (tmp_path / "ssedelta" / "_a_py.py").write_text("")
    modules = dict(load_setup().native_modules(str(tmp_path)))
    assert sorted(modules) == ["ssedelta._a_c", "ssedelta.sub._x_c", "ssedelta.sub.deeper._y_c"]
    assert Path(modules["ssedelta.sub._x_c"]) == tmp_path / "ssedelta" / "sub" / "_x_c.pyx"


PACKAGE = SETUP.parent / "src" / "ssedelta"
FORMATS = ("chat", "responses", "anthropic")
#: The shared core: what every format builds on, and which knows no format.
CORE = (
    "_api",
    "_build_py",
    "_build_c",
    "_sse_py",
    "_sse_c",
    "_sse",
    "_json_c",
    "_payload",
    "_schema",
    "_slots",
    "_todict",
    "_todict_py",
    "_todict_c",
    "_env",
    "errors",
    "events",
    "usage",
)


def imported_modules(path: Path) -> set[str]:
    """The ``ssedelta`` modules a source file imports or cimports, as dotted names (a name imported
    from a package counts as a module: ``from .. import chat`` is ``ssedelta.chat``)."""
    package = ["ssedelta", *path.relative_to(PACKAGE.parent).parent.parts[1:]]
    text = re.sub(r"\(([^)]*)\)", lambda m: m.group(1).replace("\n", " "), path.read_text())
    found = set()
    for line in text.splitlines():
        words = line.replace(",", " ").split()
        if len(words) < 2 or words[0] not in ("from", "import", "cimport"):
            continue
        target = words[1]
        if not target.startswith("."):
            if target.startswith("ssedelta"):
                found.add(target)
            continue
        rest = target.lstrip(".")
        base = package[: len(package) - (len(target) - len(rest)) + 1]
        if rest:
            found.add(".".join([*base, rest]))
        elif len(words) > 3:  # from a package: the names may be modules
            names = [w for i, w in enumerate(words[3:], 3) if w != "as" and words[i - 1] != "as"]
            found.update(".".join([*base, name]) for name in names if name.isidentifier())
    return found


def sources(where: Path) -> list[Path]:
    return sorted(p for p in where.rglob("*") if p.suffix in (".py", ".pyx", ".pxd"))


def test_a_format_package_never_imports_another_format() -> None:
    for fmt in FORMATS:
        others = tuple(f"ssedelta.{other}" for other in FORMATS if other != fmt)
        for path in sources(PACKAGE / fmt):
            bad = sorted(m for m in imported_modules(path) if m.startswith(others))
            assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_the_shared_core_knows_no_format() -> None:
    formats = tuple(f"ssedelta.{fmt}" for fmt in FORMATS)
    for name in CORE:
        for path in PACKAGE.glob(f"{name}.*"):
            if path.suffix not in (".py", ".pyx", ".pxd"):
                continue
            bad = sorted(m for m in imported_modules(path) if m.startswith(formats))
            assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_the_import_reader_sees_relative_imports() -> None:
    found = imported_modules(PACKAGE / "chat" / "_merge_py.py")
    assert {"ssedelta._payload", "ssedelta.chat.models", "ssedelta._sse_py"} <= found
    found = imported_modules(PACKAGE / "responses" / "_merge_c.pyx")
    assert {"ssedelta._json_c", "ssedelta._sse_c", "ssedelta.responses._rules"} <= found
    assert "ssedelta.chat" in imported_modules(PACKAGE / "__init__.py")
