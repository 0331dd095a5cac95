"""The `emozsl` command line. Thin: each command parses options and calls one library function of
emozsl.commands; one module per command group (`emozsl/cli/train.py`, `data.py`, ...), the options
and error mapping they share in `emozsl/cli/options.py`.

Importing it does not import torch (nor does any command that needs no model): `emozsl --help`,
`data info`, `split` and `embeddings show` start fast."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

import click

from emozsl.cli.options import EmozslGroup

# One module per command group, each listing its commands in COMMANDS: every module of this package
# but the shared options and the `python -m` entry, so a new group is its module alone.
GROUPS = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in ("options", "__main__")))

log = logging.getLogger("emozsl")


@click.group(cls=EmozslGroup)
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
@click.version_option(package_name="emozsl")
def main(quiet: bool) -> None:
    """Zero-shot and few-shot multimodal emotion recognition with emotion embeddings."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.handlers[0].setStream(sys.stderr)  # this invocation's stderr (a test runner or a caller may swap it)
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


for group in GROUPS:
    for command in importlib.import_module(f"emozsl.cli.{group}").COMMANDS:
        main.add_command(command)
