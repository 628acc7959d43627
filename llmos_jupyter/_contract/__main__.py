"""``python -m llmos_jupyter._contract [--out FILE] [--check]``: write the contract's
JSON Schema bundle (default: ``llmos_jupyter/_contract/contract.schema.json``, which the
labextension build turns into ``src/contract.gen.ts``); ``--check`` only reports whether
the file is up to date (exit status 1 when not)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llmos_jupyter._contract import SCHEMA_FILE, bundle_text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m llmos_jupyter._contract", description=__doc__)
    p.add_argument("--out", type=Path, default=SCHEMA_FILE, help="where to write (- for stdout)")
    p.add_argument("--check", action="store_true", help="fail when the file is out of date")
    args = p.parse_args(argv)
    text = bundle_text()
    if str(args.out) == "-":
        sys.stdout.write(text)
        return 0
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if current != text:
            print(f"{args.out} is out of date: run python -m llmos_jupyter._contract",
                  file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
