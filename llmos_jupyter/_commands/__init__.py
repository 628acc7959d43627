"""``llmos`` subcommands that live in their own module.

Each module here defines ``register(sub, skills_sub)``: it adds its parser(s) to the
top-level subparsers ``sub`` (or to ``llmos skills``' subparsers ``skills_sub``) and sets
``handler=fn`` with ``fn(args, out, err) -> int`` (``out``/``err`` are rich consoles).
``_cli`` discovers the modules, so a new command is one new file; each module imports its
heavy dependencies inside the handler so ``llmos --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

__all__ = ["register_all"]


def register_all(sub: argparse._SubParsersAction, skills_sub: argparse._SubParsersAction) -> None:
    """Add every command module's parsers (in module-name order, for a stable ``--help``)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub, skills_sub)
