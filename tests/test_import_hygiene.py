"""The core never loads the terminal UI: `import reflect` and every non-UI module avoid Textual."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_core_modules_do_not_import_textual() -> None:
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import reflect
        for info in pkgutil.walk_packages(reflect.__path__, "reflect."):
            if info.name == "reflect.tui" or info.name.startswith("reflect.tui."):
                continue
            importlib.import_module(info.name)
        loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
        print(len(list(pkgutil.walk_packages(reflect.__path__, "reflect."))))
        assert not loaded, loaded
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 8  # really walked the package
