"""The one exception type the CLI turns into a one-line error message."""


class EmozslError(Exception):
    """A user-facing error: bad input, missing file, invalid choice. The message names the culprit."""
