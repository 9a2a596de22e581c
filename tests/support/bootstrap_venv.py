"""The packages of scripts/bootstrap's venv, for the test scripts that need
them (confluent-kafka, the CloudEvents SDK)."""
import importlib
import os
import pathlib
import sys

VENV_PYTHON = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") \
    / "meshflow" / "venv" / "bin" / "python"


def under_venv(program, *modules):
    """Returns when `modules` import; otherwise runs the calling script again
    under the venv's Python, or exits naming `program` when there is none
    (or it is the venv that lacks them)."""
    try:
        for module in modules:
            importlib.import_module(module)
        return
    except ImportError:
        pass
    if not VENV_PYTHON.exists() or pathlib.Path(sys.executable) == VENV_PYTHON:
        sys.exit(f"{program}: no {' and '.join(modules)} for {sys.executable} and no venv at "
                 f"{VENV_PYTHON}: run scripts/bootstrap")
    script = os.path.abspath(sys.argv[0])
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), script, *sys.argv[1:]])
