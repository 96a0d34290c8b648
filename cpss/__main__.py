"""``python -m cpss``: the command line."""

from cpss.cli import main

main()
