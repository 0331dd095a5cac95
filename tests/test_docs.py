"""The docs stay true: every path README.md and docs/*.md name exists, nothing points at specs the
repository does not ship, and docs/cli.md is the commands' own --help.

Regenerate docs/cli.md after changing a command or an option:

    python tests/test_docs.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI_DOC = ROOT / "docs" / "cli.md"
WIDTH = 100  # fixed terminal width, so the page does not depend on the terminal that renders it

DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
# A backticked repository path, e.g. `emozsl/data/readers/csd.py`, `experiments/synth_mosei_zsl_eea/`.
BACKTICKED = re.compile(r"`((?:emozsl|docs|experiments|benchmarks|tests)/[^`\s]*)`")
PLACEHOLDER = re.compile(r"[*{}<>]|NAME|\.\.\.")
LINK = re.compile(r"\]\(([^)\s]+)\)")


# -- docs/cli.md ----------------------------------------------------------------------------------

def command_paths(command, path=()):
    """Every command and subcommand of the CLI, depth first, in the order `--help` lists them."""
    import click

    yield path
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from command_paths(command.commands[name], (*path, name))


def render_cli_reference() -> str:
    """docs/cli.md: `emozsl --help` and every command's and subcommand's `--help`, as printed."""
    from click.testing import CliRunner

    from emozsl.cli import main

    runner = CliRunner()
    parts = [
        "# Command-line reference\n",
        "Generated from the commands' own `--help` by `tests/test_docs.py` (run `python tests/test_docs.py`",
        "to regenerate it; `tests/test_docs.py` fails when this page is out of date). Guides to each",
        "subject: [README](../README.md) and the other pages of `docs/`.\n",
    ]
    for path in command_paths(main):
        name = " ".join(("emozsl", *path))
        result = runner.invoke(main, [*path, "--help"], prog_name="emozsl", terminal_width=WIDTH,
                               env={"COLUMNS": str(WIDTH)})
        assert result.exit_code == 0, f"{name} --help failed: {result.output}"
        parts.append(f"## `{name}`\n\n```\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


def test_cli_reference_is_up_to_date():
    expected = render_cli_reference()
    current = CLI_DOC.read_text() if CLI_DOC.exists() else ""
    assert current == expected, (
        "docs/cli.md is out of date with the commands' --help; regenerate it with "
        "`python tests/test_docs.py`")


def test_every_command_is_in_the_cli_reference():
    from emozsl.cli import main

    text = CLI_DOC.read_text()
    for path in command_paths(main):
        assert f"## `{' '.join(('emozsl', *path))}`" in text, path


# -- paths named in the docs ----------------------------------------------------------------------

def named_paths(doc: Path) -> list[tuple[str, Path]]:
    """(as written, resolved) for each backticked repository path and each local markdown link."""
    text = doc.read_text()
    found = [(path, ROOT / path) for path in BACKTICKED.findall(text) if not PLACEHOLDER.search(path)]
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        found.append((target, doc.parent / target.split("#")[0]))
    return found


def test_every_named_path_exists():
    missing = [f"{doc.relative_to(ROOT)}: {written}"
               for doc in DOCS for written, path in named_paths(doc) if not path.exists()]
    assert not missing, "paths named in the docs that do not exist:\n" + "\n".join(missing)


def test_the_docs_name_paths():
    """The checks above would pass vacuously if the patterns stopped matching."""
    assert len(named_paths(ROOT / "README.md")) >= 10


# -- no references to specs the repository does not ship -----------------------------------------

SPEC_NAMES = re.compile(r"\.\./shared|(?<![\w-])(?:" + "|".join(
    ["protocol", "raw_inputs", "backbones", "csd"]) + r")\.md")
TEXT_SUFFIXES = {".md", ".py", ".toml", ".sh", ".json", ".txt", ".csv", ".tex", ".cfg", ".ini", ".yaml", ".yml"}


def repository_text_files():
    yield ROOT / "README.md"
    yield ROOT / "CHANGELOG.md"
    for folder in ("docs", "emozsl", "benchmarks", "experiments", "tests"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts:
                yield path


def test_nothing_points_at_specs_the_repository_does_not_ship():
    this = Path(__file__).resolve()
    found = []
    for path in repository_text_files():
        if path.resolve() == this:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if SPEC_NAMES.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "references to files outside the repository:\n" + "\n".join(found)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    CLI_DOC.write_text(render_cli_reference())
    print(f"wrote {CLI_DOC.relative_to(ROOT)}")
