"""The ``embedlens`` command.

One module per subcommand group: ``info``, ``inversion`` (``embed``, ``train-inverter``,
``invert``), ``probe``, ``maps`` (``map``), ``explain`` and ``audit`` (``audit``, ``demo``).
Each has ``register(subparsers)``, which adds its parsers and sets ``func``; the flags they share
are defined once in :mod:`embedlens.cli.common`. Every subcommand exits 0 on success and
non-zero with a one-line reason on failure.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from embedlens.cli import audit, explain, info, inversion, maps, probe
from embedlens.cli.common import holding_outputs

__all__ = ["main"]

#: the subcommand modules, in the order ``embedlens --help`` lists them
SUBCOMMANDS = (info, inversion, probe, maps, explain, audit)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with holding_outputs():  # the --out a command claims is held until it ends
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("embedlens: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.verbose:
            raise
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"embedlens {args.command}: error: {reason}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    """The ``embedlens`` parser with every subcommand registered."""
    from embedlens._version import __version__

    parser = argparse.ArgumentParser(
        prog="embedlens",
        description="Make text embeddings understandable and auditable.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs, full tracebacks")
    parser.add_argument("--version", action="version", version=f"embedlens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_parser = sub.add_parser

    def with_defaults(*args: Any, **kwargs: Any) -> argparse.ArgumentParser:
        # every subcommand's --help shows its defaults
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        return add_parser(*args, **kwargs)

    sub.add_parser = with_defaults  # type: ignore[method-assign]
    for group in SUBCOMMANDS:
        group.register(sub)
    return parser
