"""`flowbias solve`, `flowbias saddles` and `flowbias tour`.

A command prints a short summary (what ran, the limit, the agreement, steps, wall time); the
full result is JSON, written with `--json PATH` (or printed with `--json -`). Bad input exits
with status 2 and a single line on stderr starting with `error:` that names the problem and
the fix; no traceback. A solve that fails still writes its (flagged) result. Parsing and the
argument checks run before JAX is imported: `--help`, `--version` and argument errors answer
at once.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .io import UsageError, dumps
from .saddles_command import add_arguments as add_saddles_arguments
from .solve_command import add_arguments


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _version() -> str:
    try:
        return version("flowbias")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown (not installed)"


def _build_parser() -> _Parser:
    parser = _Parser(prog="flowbias", description="Implicit bias of gradient methods, computed.")
    parser.add_argument("--version", action="version", version=f"flowbias {_version()}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    solve = sub.add_parser("solve", help="integrate a flow on DATA.npz and compare to theory")
    add_arguments(solve)
    saddles = sub.add_parser(
        "saddles",
        help="the alpha -> 0 staircase of a diagonal network on DATA.npz (exact "
        "jump times and saddles), and optionally the flow at a tiny alpha measured against it",
    )
    add_saddles_arguments(saddles)
    tour = sub.add_parser("tour", help="run the catalogue of results on built-in data")
    tour.add_argument(
        "--out",
        default="flowbias-tour",
        help="output folder for the figures and report.json (default: flowbias-tour)",
    )
    tour.add_argument(
        "--quick",
        action="store_true",
        help="smaller problems, and only the entries marked for the quick tour (one or two "
        "per family; under a minute on 2 cores; the full tour takes about 4)",
    )
    tour.add_argument(
        "--rows",
        default=None,
        metavar="ROWS",
        help="run only these catalogue rows, comma-separated (e.g. L1,D2,M3), or `all` "
        "(with --quick: every entry at the small sizes). Default: every entry, or the quick "
        "tour's with --quick",
    )
    tour.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="worker processes running the tour's entries side by side "
        "(default: one per core, up to 4; 1 runs them in this process)",
    )
    tour.add_argument(
        "--no-progress",
        "--quiet",
        action="store_true",
        dest="no_progress",
        help="hide the progress bar",
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def _emit(result: dict, path: str | None, summary: str) -> str | None:
    """Print the summary and write the JSON to `path` (`-`: print the JSON instead of the
    summary); on a failed write print the JSON and say why."""
    text = dumps(result)
    if path == "-":
        print(text)
        return None
    if path:
        try:
            Path(path).write_text(text + "\n")
        except OSError as e:
            print(text)
            return (
                f"could not write --json {path!r} ({type(e).__name__}: {e.strerror or e}); "
                "the result is printed above instead."
            )
    print(summary)
    if path:
        print(f"result written to {path}", file=sys.stderr)
    return None


def _report(result: dict, error: str | None, path: str | None, summary) -> int:
    write_error = _emit(result, path, summary(result))
    message = error or write_error
    if message:
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


def _solve(args) -> int:
    from .solve_command import run_solve, summary

    result, error = run_solve(args)
    return _report(result, error, args.json, summary)


def _saddles(args) -> int:
    from .saddles_command import run_saddles, summary

    result, error = run_saddles(args)
    return _report(result, error, args.json, summary)


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError(
                "no command given. Fix: `flowbias solve DATA.npz`, `flowbias "
                "saddles DATA.npz` or `flowbias tour`."
            )
        if args.command == "solve":
            return _solve(args)
        if args.command == "saddles":
            return _saddles(args)
        from .tour import run_tour

        try:
            ok = run_tour(
                Path(args.out),
                quick=args.quick,
                rows=args.rows,
                progress=not args.no_progress,
                jobs=args.jobs,
            )
        except ValueError as e:
            raise UsageError(str(e)) from None
        return 0 if ok else 1
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, NotImplementedError, RuntimeError, OSError) as e:
        # Library validation errors (they name the argument and the fix) and refusals such as
        # non-separable data or an uncertified reference.
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    except Exception as e:  # pragma: no cover - a bug: still one line, never a traceback
        print(
            f"error: unexpected {type(e).__name__}: {_one_line(e)} (this is a bug in flowbias; "
            "please report it with the command line and data)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
