"""emozsl as an installed package: a built wheel runs the main job from another folder, and the
commands that need no model start without importing torch."""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("args", [["--help"], ["data", "info", "DATA"], ["embeddings", "show"],
                                  ["embeddings", "show", "--label-words", "mosei"],
                                  ["split", "--data", "DATA", "--zsl", "fear", "--out", "OUT"]])
def test_commands_that_need_no_model_start_without_torch(args, synth_mosei_dir, tmp_path):
    args = [str(synth_mosei_dir) if a == "DATA" else str(tmp_path / "m.json") if a == "OUT" else a for a in args]
    probe = ("import sys\nfrom emozsl.cli import main\n"
             f"try:\n    main({args!r})\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
             "print('torch imported' if 'torch' in sys.modules else 'no torch')")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "no torch"


def _build_isolation() -> list[str]:
    """Build with this environment's setuptools when it is new enough (no download), else let pip
    fetch the build requirements as `pip install .` does."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return ["--no-build-isolation"] if int(version("setuptools").split(".")[0]) >= 68 else []
    except PackageNotFoundError:
        return []


def _venv_seeing_these_packages(venv: Path) -> None:
    """A fresh virtual environment that sees, after its own, the packages of the interpreter running
    the tests. `--system-site-packages` would show the base interpreter's instead: from inside a
    virtual environment those are not the ones the tests run with. Plain .pth lines add folders
    without running their .pth files, so this checkout's editable install stays out of sight."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True, timeout=120).stdout.strip()
    seen = site.getsitepackages() + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
    (Path(purelib) / "tests_running_env.pth").write_text("".join(f"{folder}\n" for folder in seen))


@pytest.mark.slow
def test_a_built_wheel_installed_elsewhere_runs_the_main_job(tmp_path):
    """pip wheel, then a fresh virtual environment (seeing this one's dependencies, so torch is not
    installed twice) with only the wheel installed, run from a folder far from the checkout."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("emozsl", "embeddings"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *_build_isolation(), "-q",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("emozsl-*.whl"))
    venv = tmp_path / "venv"
    _venv_seeing_these_packages(venv)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    shutil.rmtree(source)  # nothing may be read from a checkout
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import emozsl.embeddings as e; "
                            "print(e.__file__); print(e.default_embeddings_path())"],
                           capture_output=True, text=True, cwd=work, timeout=120)
    module, vectors = where.stdout.split()
    assert module.startswith(str(venv)) and vectors.startswith(str(venv)) and Path(vectors).is_file()
    result = subprocess.run([str(venv / "bin" / "emozsl"), "quickstart", "--out", "q", "--epochs", "1", "--device", "cpu"],
                            capture_output=True, text=True, cwd=work, timeout=600)
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("fear") and "unseen" in line for line in result.stdout.splitlines())
    shown = subprocess.run([str(venv / "bin" / "emozsl"), "embeddings", "show", "--label-words", "iemocap"],
                           capture_output=True, text=True, cwd=work, timeout=120)  # label words are package data
    assert shown.returncode == 0 and str(venv) in shown.stdout and "frustrated:" in shown.stdout, shown.stderr
    folds = subprocess.run([str(venv / "bin" / "python"), "-c", "from emozsl.data.readers.csd import mosei_folds; "
                            "print(*map(len, mosei_folds().values()))"],
                           capture_output=True, text=True, cwd=work, timeout=120)  # the standard folds are package data
    assert folds.returncode == 0 and folds.stdout.split() == ["2250", "300", "678"], folds.stderr
