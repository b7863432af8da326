"""The `flowbias` command line."""
