"""The public surface is exactly llmos_jupyter.__all__, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import llmos_jupyter


def test_all_lists_the_public_names():
    # In a fresh interpreter: under pytest the package may be assertion-rewritten (the
    # workflow-tests plugin's entry point marks its distribution), which adds names.
    code = ("import json, llmos_jupyter as m; print(json.dumps(sorted({n for n in vars(m) "
            "if not n.startswith('_') or n == '__version__'} | set(m._LAZY))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    assert sorted(llmos_jupyter.__all__) == json.loads(out.stdout)


def test_exports_show_the_public_module():
    for name in llmos_jupyter.__all__:
        obj = getattr(llmos_jupyter, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__ == "llmos_jupyter", name


def test_core_import_loads_no_heavy_module():
    code = ("import sys, llmos_jupyter; "
            "print(','.join(m for m in ('numpy', 'scipy', 'matplotlib', 'IPython', 'nbclient', 'anywidget') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
