"""Several processes editing the same file at once lose no update and leave valid JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ccw.config import manage
from ccw.config.store import ConfigStore, parse_config

WORKERS = 3
ADDS = 15

# Each worker adds ADDS providers (generated ids) and ADDS endpoints, starting when told to.
WORKER = """
import json, sys
from pathlib import Path
from ccw.config import manage
from ccw.config.store import ConfigStore

path, prefix, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
store = ConfigStore(path)
print("ready", flush=True)
sys.stdin.readline()
made = []
for i in range(count):
    made.append(manage.add_provider(store, {"type": "openai"}).id)
    manage.add_endpoint(store, {"id": f"{prefix}-{i}", "providerId": "shared", "model": "m"})
print(json.dumps(made), flush=True)
"""


def test_concurrent_writers_lose_no_update(config_file: Path) -> None:
    store = ConfigStore(config_file)
    manage.add_provider(store, {"id": "shared", "type": "openai"})

    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(config_file), f"w{n}", str(ADDS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WORKERS)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:  # release them together
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    made: list[str] = []
    for worker in workers:
        out, err = worker.communicate(timeout=90)
        assert worker.returncode == 0, err
        made += json.loads(out)

    text = config_file.read_text(encoding="utf-8")
    json.loads(text)
    config = parse_config(text, str(config_file))
    assert len(set(made)) == WORKERS * ADDS  # generated ids never collide
    assert sorted(p.id for p in config.providers) == sorted([*made, "shared"])
    expected = {f"w{n}-{i}" for n in range(WORKERS) for i in range(ADDS)}
    assert sorted(e.id for e in config.endpoints) == sorted(expected)
