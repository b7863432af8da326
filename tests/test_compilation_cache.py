"""The opt-in persistent compilation cache: programs land on disk, also when it is turned on
after the process has compiled something; bad arguments are refused before anything is set."""

import os
import subprocess
import sys
import textwrap

import pytest

import flowbias as fb


def test_programs_are_written_to_the_directory_even_when_enabled_late(tmp_path):
    # A fresh interpreter, so that this test's JAX settings reach no other test.
    script = textwrap.dedent(
        f"""
        import os
        import numpy as np
        import flowbias as fb

        fb.one_minus_cos(np.ones(3), np.arange(3.0))   # a first compilation, before the cache
        path = fb.enable_compilation_cache({str(tmp_path / "cache")!r})
        fb.one_minus_cos(np.ones(11), np.arange(11.0))  # a new shape: compiled and stored
        print(sorted(os.listdir(path)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    assert "jit__one_minus_cos_kernel-" in out
    assert os.path.isdir(tmp_path / "cache")


def test_default_directory_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from flowbias.compilation_cache import default_cache_directory

    assert default_cache_directory() == tmp_path / "flowbias" / "jax"


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"min_compile_time_s": -1.0}, ValueError, "min_compile_time_s"),
        ({"min_compile_time_s": "1"}, TypeError, "min_compile_time_s"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, error, words):
    with pytest.raises(error, match=words):
        fb.enable_compilation_cache(tmp_path, **kwargs)


def test_a_file_is_not_a_directory(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(ValueError, match="not a directory"):
        fb.enable_compilation_cache(f)
