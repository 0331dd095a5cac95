"""`python -m emozsl.cli`: the `emozsl` command."""

from emozsl.cli import main

main()
