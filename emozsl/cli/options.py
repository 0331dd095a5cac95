"""What every command of the `emozsl` command line shares: its options made from the settings'
declarations (`config_option`, `settings_options`, `trust_pickle_option`), and the mapping of any
error below to one line naming the flag that set the value at fault (`EmozslCommand`)."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing

import click
from click.core import ParameterSource

from emozsl.config import RUN_FIELDS, RunConfig, hints
from emozsl.errors import EmozslError, FieldError, show

# Library fields whose command-line parameter has another name; `target` is set by --zsl or --fsl.
PARAMETER_OF_FIELD = {"data": ("data", "data_path"),
                      "model_options": ("model_options", "options"), "target": ("zsl", "fsl"), "format": ("fmt",)}


def flag_message(ctx: click.Context, exc: FieldError) -> str:
    """A field error as the user wrote it: the flag and the value given on the command line
    (`--option hidden=0`, `--lr inf`); a value from a file, or a field no flag sets, keeps its name."""
    root, _, key = exc.field.partition(".")
    if not exc.where:
        for param in ctx.command.params:
            if (param.name in PARAMETER_OF_FIELD.get(root, (root,))
                    and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE and param.opts):
                flag = max(param.opts, key=len) if param.param_type_name == "option" else param.name.upper()
                typed = exc.value if key else ctx.params.get(param.name, exc.value)  # as written (a path not made absolute)
                return exc.describe(f"{flag} {key + '=' if key else ''}{show(typed)}")
    return str(exc)


class UsageLine(click.ClickException):
    """A command-line usage error, said in one line like every other error (exit status 2)."""
    exit_code = 2

    def __init__(self, ctx: click.Context, exc: click.UsageError):
        super().__init__(f"{exc.format_message()} (see '{ctx.command_path} --help')")


class OneLineUsage:
    """Mixin: click's usage errors (a bad flag value, an unknown option or command) in one line."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise UsageLine(ctx, exc) from None


class EmozslCommand(OneLineUsage, click.Command):
    """Turns an error below into one line, 'Error: ...', and exit status 1: emozsl's own errors,
    and any file-system error no check foresaw."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # raised by a command's own checks of its flags
            raise UsageLine(ctx, exc) from None
        except FieldError as exc:
            raise click.ClickException(flag_message(ctx, exc)) from None
        except EmozslError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"{exc.filename or 'file system'}: {exc.strerror or exc}") from None


class EmozslGroup(OneLineUsage, click.Group):
    command_class = EmozslCommand
    group_class = type  # subgroups are EmozslGroups too

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            raise UsageLine(ctx, exc) from None


def pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """Repeated KEY=VALUE flags (`--option width=64`) as a table; BadParameter naming `option`."""
    out = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key or not item:
            raise click.BadParameter(f"'{value}' is not KEY=VALUE", param_hint=option)
        out[key.strip()] = item.strip()
    return out


def config_option(name: str, *flags: str, declared_default: bool = False, settings: type = RunConfig, **overrides):
    """The click option of setting `name` of `settings` (RunConfig, or a command's settings of
    emozsl.config), made from its declaration (flag, help, type, choices, path, default shown). Its
    value is None when not given (the config's value stands), or with `declared_default` the
    declared default. `flags` and `overrides` adapt it to a command."""
    declared = {f.name: f for f in dataclasses.fields(settings)}[name]
    meta, hint = declared.metadata, hints(settings)[name]
    default = declared.default if declared.default is not dataclasses.MISSING else None
    options = {"help": meta["help"], "default": default if declared_default else None}
    if default is not None and not isinstance(default, bool):
        options["help"] += f"  [default: {default}]"
    kinds = set(typing.get_args(hint)) - {type(None)} if isinstance(hint, types.UnionType) else {hint}
    if meta["choices"]:
        options["type"] = click.Choice(meta["choices"])
    elif meta["path"]:
        options["type"] = click.Path(file_okay=meta["path"] == "file", dir_okay=meta["path"] == "folder")
    elif bool in kinds:
        options["is_flag"] = True
    elif dict in kinds:
        options["multiple"] = True  # KEY=VALUE pairs, several times
    elif kinds in ({int}, {float}):
        options["type"] = kinds.pop()
    options["multiple"] = options.get("multiple") or meta["multiple"]
    options.update(overrides)
    return click.option(*(flags or (meta["flag"],)), name, **options)


def settings_options(settings: type, *names: str, given_only: bool = False, into: str | None = None,
                     overrides: dict[str, dict] | None = None):
    """A command's options made from the declarations of `settings` (`names`, default every one with
    a flag), in declaration order, each defaulting to its declared default (`given_only`: to None,
    so that a file's value stands). The values given are checked against the declarations
    (`settings(**values)`) before the command runs. With `into`, the command gets them as one
    parameter of that name instead: the settings object made (`given_only`: a dict of the values
    given), so a new setting reaches the library function with no change here or in the command.
    `overrides`: setting name -> click.option arguments that adapt its option (config_option's)."""
    chosen = names or [f.name for f in dataclasses.fields(settings) if f.metadata["flag"]]
    declared = {f.name: f for f in dataclasses.fields(settings)}

    def as_declared(name: str, value):  # the command line's form of a value -> the declared type's
        if hints(settings)[name] is dict:
            return pairs(value, declared[name].metadata["flag"])
        return list(value) if isinstance(value, tuple) else value

    def decorate(command):
        @functools.wraps(command)
        def checked(**params):
            given = {n: as_declared(n, params[n]) for n in chosen if params[n] is not None}
            made = settings(**given)
            if into:
                for name in chosen:
                    del params[name]
                params[into] = given if given_only else made
            return command(**params)

        for name in reversed(chosen):
            checked = config_option(name, settings=settings, declared_default=not given_only,
                                    **(overrides or {}).get(name, {}))(checked)
        return checked

    return decorate


def trust_pickle_option(what: str = "pickle files"):
    """--trust-pickle, on every command that may unpickle: loading a pickle runs its code, so trust
    comes from the command line only, never from a config, sweep or run file."""
    return click.option("--trust-pickle", is_flag=True,
                        help=f"Allow loading {what} (a pickle runs code when loaded; never taken from a file).")


def setting_values(values: dict) -> dict:
    """Command-line values of run settings as RunConfig takes them: KEY=VALUE pairs to a table, a
    comma-separated list to a list; unset ones stay None."""
    out = {}
    for name, value in values.items():
        hint = hints(RunConfig)[name]
        if hint is dict:
            value = pairs(value, RUN_FIELDS[name].metadata["flag"])
        elif hint is list and value is not None:
            value = [item.strip() for item in value.split(",") if item.strip()]
        out[name] = value
    return out
