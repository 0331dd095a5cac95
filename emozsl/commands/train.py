"""`emozsl train`: one run and its test table, or repeated runs (--seeds, --folds) and their
mean +- std table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from emozsl.config import RepeatSettings, TaskSettings, config_from_options
from emozsl.errors import FieldError
from emozsl.reports import console_table, summary_table, write_tables
from emozsl.runs import RunDir


def report_training_result(run_dir: str | Path) -> str:
    """The test table that training already scored (results.json), written like `emozsl eval`'s."""
    run = RunDir.open(run_dir)
    result = run.read_results().test
    write_tables(result, run.eval_dir)
    return console_table(result)


def train_and_report(config_file: str | None = None, task: TaskSettings | None = None,
                     repeat: RepeatSettings | None = None, trust_pickle: bool = False, **options) -> str:
    """`emozsl train`: one run and its test table, or (`repeat`: --seeds N / --folds K) repeated
    runs and their mean +- std table (a rerun of the same command resumes them). The run's settings:
    `config_file`, then `task` (--zsl / --fsl) and `options` (RunConfig's fields; None: unset) on
    top (config.config_from_options). FieldError for a bad value, before torch loads."""
    task, repeat = task or TaskSettings(), repeat or RepeatSettings()
    config = config_from_options(config_file, **dataclasses.asdict(task), **options)  # refused before torch loads
    from emozsl.commands.crossval import repeated_runs
    from emozsl.train import train

    seeds, folds, stack = repeat.seeds, repeat.folds, repeat.stack
    if stack is not None and seeds == 1 and folds is None:
        raise FieldError("stack", stack, "applies to --seeds or --folds (their runs train together); one run has "
                         "nothing to stack")
    if seeds == 1 and folds is None:
        run_dir = train(config, trust_pickle)
        return f"run: {run_dir}\n\n{report_training_result(run_dir)}"
    parent, summary = repeated_runs(config, seeds, folds, trust_pickle, stack)
    return f"runs: {parent}\n\n{summary_table(summary)}"
