"""``python -m api serve|db upgrade|keys create|list|revoke``: the API commands without ``dispatch``."""

from __future__ import annotations

import argparse
import sys

from api.cli import register
from dispatcher.errors import DispatchError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except DispatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
