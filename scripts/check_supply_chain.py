"""Refuse to run with a known-malicious LiteLLM release or files planted to run at start-up.

litellm 1.82.7, 1.82.8 and 1.107.0 shipped credential stealers as ``.pth`` files that the
interpreter executes on start. This check runs before the tests and the demo.
"""

from __future__ import annotations

import site
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

BAD_VERSIONS = {"1.82.7", "1.82.8", "1.107.0"}
PLANTED = {"litellm_init.pth", "cook.pth", "cook.py", "sitecustomize.py"}


def site_dirs() -> list[Path]:
    found = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    found.update(site.getsitepackages())
    return [Path(p) for p in sorted(found) if Path(p).is_dir()]


def problems() -> list[str]:
    out: list[str] = []
    try:
        version = metadata.version("litellm")
    except metadata.PackageNotFoundError:
        version = None
    if version in BAD_VERSIONS:
        out.append(f"litellm {version} is a known malicious release; reinstall from the lock")
    for folder in site_dirs():
        for name in PLANTED:
            if (folder / name).exists():
                out.append(f"planted start-up file {folder / name}: remove it and rebuild .venv")
    return out


def main() -> int:
    found = problems()
    for line in found:
        sys.stderr.write(f"supply-chain check: {line}\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
