"""The exception types the CLI turns into one-line error messages.

Library code speaks of fields and values (`epochs=0`, `model_options.hidden=0`); the CLI knows which
flag set a field and names that instead (`--epochs 0`, `--option hidden=0`)."""


class EmozslError(Exception):
    """A user-facing error: bad input, missing file, invalid choice. The message names the culprit."""


class FieldError(EmozslError):
    """A bad value of a named field: a run-config field, a model option (`model_options.NAME`), or
    a command's argument. `where` names the file the value came from, when it came from one."""

    def __init__(self, field: str, value, reason: str, where: str | None = None):
        self.field, self.value, self.reason, self.where = field, value, reason, where
        super().__init__(self.describe(f"{field}={show(value)}"))

    def describe(self, subject: str) -> str:
        return f"{self.where + ': ' if self.where else ''}{subject}: {self.reason}"

    def located(self, where: str) -> "FieldError":
        """The same error, said to come from `where` (a config or sweep file)."""
        return FieldError(self.field, self.value, self.reason, where)

    def __reduce__(self):  # keeps the fields across process boundaries (sweep workers)
        return FieldError, (self.field, self.value, self.reason, self.where)


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line (libraries such as h5py write several), or its
    type when it has no message."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def show(value) -> str:
    """A value as an error message shows it: plain words bare, anything else as Python writes it."""
    if isinstance(value, str) and value and not any(c.isspace() for c in value):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v for v in value):
        return ",".join(value)  # as a comma-separated command-line value is written
    return repr(value)


def check_choice(field: str, value, choices) -> str:
    """`value` if it is one of `choices`, else an error naming the field, the value and the choices."""
    if value not in choices:
        raise FieldError(field, value, f"choose one of {', '.join(map(str, choices))}")
    return value
