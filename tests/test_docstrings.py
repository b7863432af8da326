"""Every ```python example in a flowbias docstring runs, as the API pages render it: the blocks
of one docstring in order, in one fresh namespace, under the Agg backend. Where an example prints
a value and states it in a trailing comment (`print(x)  # 1.0 3.0`, or `# (85, 2): why`), the
printed line must be that value.
"""

import contextlib
import importlib
import inspect
import io
import pkgutil

import matplotlib


matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from test_docs import python_blocks  # noqa: E402

import flowbias  # noqa: E402


def _modules():
    yield flowbias
    for info in pkgutil.walk_packages(flowbias.__path__, prefix="flowbias."):
        yield importlib.import_module(info.name)


def _documented():
    """(qualified name, docstring) of every module, function, class and method defined in
    flowbias whose docstring holds a ```python block; each object once, under the module that
    defines it."""
    seen = {}
    for module in _modules():
        candidates = [(module.__name__, module)]
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj) or inspect.isfunction(obj)
            ) and obj.__module__ == module.__name__:
                candidates.append((f"{module.__name__}.{name}", obj))
                if inspect.isclass(obj):
                    for attr, member in vars(obj).items():
                        func = (
                            member.__func__
                            if isinstance(member, classmethod | staticmethod)
                            else member
                        )
                        if inspect.isfunction(func):
                            candidates.append((f"{module.__name__}.{name}.{attr}", func))
        for qualname, obj in candidates:
            doc = inspect.getdoc(obj)
            if doc and python_blocks(doc) and qualname not in seen:
                seen[qualname] = doc
    return sorted(seen.items())


DOCUMENTED = _documented()


def _stated_outputs(code: str) -> list[str]:
    """The trailing comments of `print(...)  # expected` lines, in order."""
    out = []
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith("print(") and "  # " in stripped:
            out.append(stripped.split("  # ", 1)[1].split(": ", 1)[0].strip())
    return out


def test_examples_found():
    names = {name for name, _ in DOCUMENTED}
    assert {"flowbias.solve.flowsolve", "flowbias.asymptotics.rates.fit_rate"} <= names
    assert len(DOCUMENTED) >= 10


def test_stated_outputs_parsed():
    code = "x = 1\nprint(x)  # 1\nprint(x)\nprint(x, x)  # 1 1: twice\n"
    assert _stated_outputs(code) == ["1", "1 1"]


@pytest.mark.parametrize(("qualname", "doc"), DOCUMENTED, ids=[n for n, _ in DOCUMENTED])
def test_docstring_example_runs(qualname: str, doc: str):
    namespace = {"__name__": "__docstring__"}
    printed = io.StringIO()
    stated = []
    try:
        with contextlib.redirect_stdout(printed):
            for line, code in python_blocks(doc):
                exec(compile(code, f"{qualname} (example line {line})", "exec"), namespace)
                stated += _stated_outputs(code)
    finally:
        plt.close("all")
    lines = printed.getvalue().splitlines()
    # Only comments that read as a value are checked; prose ("# w11 = 0: ...") is for the reader.
    for want in stated:
        if not want[:1].isdigit() and not want.startswith(("(", "[", "-")):
            continue
        assert any(got.strip() == want for got in lines), (qualname, want, lines)
