"""`flowbias solve`, `flowbias saddles` and `flowbias tour`.

Bad input exits with status 2 and a single line on stderr starting with `error:` that names
the problem and the fix; no traceback. A solve that fails still writes its (flagged) result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .io import UsageError, dumps
from .saddles_command import add_arguments as add_saddles_arguments
from .solve_command import add_arguments


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _build_parser() -> _Parser:
    parser = _Parser(prog="flowbias", description="Implicit bias of gradient methods, computed.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    solve = sub.add_parser("solve", help="integrate a flow on DATA.npz and compare to theory")
    add_arguments(solve)
    saddles = sub.add_parser(
        "saddles", help="the alpha -> 0 staircase of a diagonal network on DATA.npz (exact "
        "jump times and saddles), and optionally the flow at a tiny alpha measured against it")
    add_saddles_arguments(saddles)
    tour = sub.add_parser("tour", help="run the catalogue of results on built-in data")
    tour.add_argument("--out", default="flowbias-tour", help="output folder (figures, report)")
    tour.add_argument("--quick", action="store_true", help="smaller problems, for CI")
    tour.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def _emit(result: dict, path: str | None) -> str | None:
    """Print or write the result; on a failed write print it instead and say why."""
    text = dumps(result)
    if not path:
        print(text)
        return None
    try:
        Path(path).write_text(text + "\n")
    except OSError as e:
        print(text)
        return (f"could not write --json {path!r} ({type(e).__name__}: {e.strerror or e}); the "
                "result is printed above instead.")
    print(f"result written to {path}", file=sys.stderr)
    return None


def _solve(args) -> int:
    from .solve_command import run_solve

    result, error = run_solve(args)
    write_error = _emit(result, args.json)
    message = error or write_error
    if message:
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


def _saddles(args) -> int:
    from .saddles_command import run_saddles, summary

    result, error = run_saddles(args)
    print(summary(result))
    write_error = None
    if args.json:
        try:
            Path(args.json).write_text(dumps(result) + "\n")
            print(f"result written to {args.json}", file=sys.stderr)
        except OSError as e:
            print(dumps(result))
            write_error = f"could not write --json {args.json!r} ({e}); printed above instead."
    message = error or write_error
    if message:
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("no command given. Fix: `flowbias solve DATA.npz`, `flowbias "
                             "saddles DATA.npz` or `flowbias tour`.")
        if args.command == "solve":
            return _solve(args)
        if args.command == "saddles":
            return _saddles(args)
        from .tour import run_tour

        ok = run_tour(Path(args.out), quick=args.quick, progress=not args.no_progress)
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
        print(f"error: unexpected {type(e).__name__}: {_one_line(e)} (this is a bug in flowbias; "
              "please report it with the command line and data)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
