"""The behaviour behind the stand-in gemini, qwen, codex and claude executables.

Every run records its argv, stdin, working directory and pid as JSON into the file named
by FAKE_TOOL_RECORD, then does what FAKE_TOOL_ACTION says:
  answer (default)  print one line naming the tool and the prompt size
  fail              print "boom" lines to stderr, exit with FAKE_TOOL_EXIT (default 3)
  hang              print "started", then sleep; FAKE_TOOL_IGNORE_TERM=1 ignores SIGTERM
  flood             print FAKE_TOOL_BYTES bytes (default 4 MiB) of numbered lines
  stream            print "first", wait up to 30 s for the file FAKE_TOOL_GATE, print "second"
  orphan            start a sleeper that keeps stdout open, print "done <its pid>", exit
  fork              start a sleeper in the tool's process group, print "started <its pid>",
                    then sleep (as codex does with its helper); FAKE_TOOL_IGNORE_TERM=1
                    makes both ignore SIGTERM
  fail_stdout       print "Not logged in · Please run /login" on stdout only, exit 1 (claude)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def main(tool: str) -> None:
    prompt = sys.stdin.buffer.read().decode("utf-8")
    record = os.environ.get("FAKE_TOOL_RECORD")
    if record:
        with open(record, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "tool": tool,
                    "argv": sys.argv[1:],
                    "stdin": prompt,
                    "cwd": os.getcwd(),
                    "pid": os.getpid(),
                    "trust": os.environ.get("GEMINI_CLI_TRUST_WORKSPACE"),
                },
                handle,
            )
    action = os.environ.get("FAKE_TOOL_ACTION", "answer")
    out = sys.stdout
    if action == "answer":
        out.write(f"{tool} answered a {len(prompt.encode('utf-8'))}-byte prompt\n")
    elif action == "fail":
        sys.stderr.write(f"{tool}: warming up\nboom: {tool} could not finish\n")
        sys.exit(int(os.environ.get("FAKE_TOOL_EXIT", "3")))
    elif action == "hang":
        if os.environ.get("FAKE_TOOL_IGNORE_TERM") == "1":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        out.write("started\n")
        out.flush()
        while True:
            time.sleep(60)
    elif action == "flood":
        total = int(os.environ.get("FAKE_TOOL_BYTES", str(4 * 1024 * 1024)))
        line = 0
        written = 0
        while written < total:
            text = f"{line:08d} {'x' * 55}\n"
            out.write(text)
            written += len(text)
            line += 1
    elif action == "stream":
        out.write("first\n")
        out.flush()
        gate = os.environ["FAKE_TOOL_GATE"]
        for _ in range(3000):
            if os.path.exists(gate):
                break
            time.sleep(0.01)
        out.write("second: gate seen\n" if os.path.exists(gate) else "second: gate missing\n")
    elif action == "fork":
        if os.environ.get("FAKE_TOOL_IGNORE_TERM") == "1":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the sleeper
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        out.write(f"started {sleeper.pid}\n")
        out.flush()
        while True:
            time.sleep(60)
    elif action == "fail_stdout":
        out.write("Not logged in · Please run /login\n")
        out.flush()
        sys.exit(1)
    elif action == "orphan":
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        out.write(f"done {sleeper.pid}\n")
    out.flush()
