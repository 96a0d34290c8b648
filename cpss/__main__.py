"""``python -m cpss``: the command line."""

from cpss.runs.cli import main

main()
