"""The one exception type the CLI turns into a one-line error message."""


class EmozslError(Exception):
    """A user-facing error: bad input, missing file, invalid choice. The message names the culprit."""


def check_choice(what: str, value, choices) -> str:
    """`value` if it is one of `choices`, else an error naming both (what 'value': choose one of ...)."""
    if value not in choices:
        raise EmozslError(f"{what} '{value}': choose one of {', '.join(choices)}")
    return value
