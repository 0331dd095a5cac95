from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = text.split("```bash\n")[1:3]
    return [block.split("\n```")[0].strip() for block in blocks]


def test_readme_opens_with_install_and_run_then_install_and_test():
    run, test = readme_commands()
    assert run.startswith("pip install torch==2.13.0") and run.endswith("emozsl quickstart")
    assert test.startswith("pip install torch==2.13.0") and "pytest" in test


def test_ci_runs_the_readme_test_command():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert readme_commands()[1] in ci_lines


def test_every_cli_command_is_documented():
    from emozsl.cli import main

    readme = (ROOT / "README.md").read_text()
    for name in main.commands:
        assert f"emozsl {name}" in readme, name


def test_every_backbone_is_in_the_readme_model_table():
    from emozsl.models import REGISTRY

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Models"):]
    for name in REGISTRY:
        assert f"| `{name}` |" in table, name
