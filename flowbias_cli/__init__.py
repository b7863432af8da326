"""The `flowbias` command line: `solve`, `saddles` and `tour`.

A package of its own, beside the library: parsing the command line and checking its
arguments needs neither JAX nor flowbias, so `flowbias --help`, `--version` and argument
errors answer at once; the library is imported only to run a command.
"""
