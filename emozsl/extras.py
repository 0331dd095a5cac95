"""emozsl's optional extras (pyproject.toml) as install hints. emozsl is installed from its checkout
or a wheel, not from a package index, so `pip install 'emozsl[ray]'` would fail: a hint names the
extra's own requirements, read from the installed package's metadata."""

from __future__ import annotations

from importlib import metadata


def install_hint(extra: str) -> str:
    """e.g. "pip install 'ray>=2.9' (emozsl's extra [ray])"; the extra alone when emozsl's metadata
    is not installed (a checkout on the path)."""
    try:
        requires = metadata.requires("emozsl") or []
    except metadata.PackageNotFoundError:
        requires = []
    marker = f'extra == "{extra}"'
    packages = [r.split(";")[0].strip() for r in requires if marker in r.replace("'", '"')]
    if not packages:
        return f"install emozsl's extra [{extra}] (pip install '.[{extra}]' in its checkout)"
    return "pip install " + " ".join(f"'{p}'" for p in packages) + f" (emozsl's extra [{extra}])"


def transformers_module(what: str):
    """The transformers package with its progress bars off (emozsl's output stays one line per fact);
    an EmozslError naming `what` (the flag or setting that needs it) and the install hint when it is
    not installed."""
    try:
        import transformers
    except ImportError:
        from emozsl.errors import EmozslError

        raise EmozslError(f"{what} needs the optional text libraries: {install_hint('text')}") from None
    transformers.utils.logging.disable_progress_bar()
    return transformers
