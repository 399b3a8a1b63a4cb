"""What setup.py compiles: every ``.pyx`` under ``src/ssedelta``, named after its place in the package."""

from __future__ import annotations

import importlib.util
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
