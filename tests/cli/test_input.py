"""Input and options like ``llm``, through the real ``ccw cli`` against the test provider:
piped input, a positional prompt, -f with -p, -s and -o, the finish reason, --dry-run without
a key and the context-window warning."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import endpoint, provider, write_config
from tests.conftest import RunCcw
from tests.fakes.provider_server import DEFAULT_REPLY, ProviderServer

DIFF = """diff --git a/app.py b/app.py
@@ -1,2 +1,2 @@
-print("hi")
+print("hello")  # @decorator-like text and user@example.com stay as they are
"""


def _sent(server: ProviderServer) -> list[dict[str, Any]]:
    posts = [r for r in server.requests if r.method == "POST"]
    assert posts, "nothing reached the provider"
    messages: list[dict[str, Any]] = posts[-1].body["messages"]
    return messages


def test_piped_input_is_sent_ahead_of_the_prompt_and_never_scanned(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    done = run_ccw("cli", "-p", "Review this diff", input=DIFF, env=keys)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == DEFAULT_REPLY
    content = _sent(server)[-1]["content"]
    assert content == f'<input source="stdin">\n{DIFF}</input>\n\nReview this diff'
    detail = json.loads(run_ccw("cli", "history", "--json").stdout)["calls"][0]
    assert detail["promptPreview"] == '<input source="stdin">'


def test_a_positional_prompt_works_and_commands_still_do(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    done = run_ccw("cli", "What is 2+2?", "--json", env=keys)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == DEFAULT_REPLY
    assert _sent(server)[-1]["content"] == "What is 2+2?"
    words = run_ccw("cli", "--model", "gpt", "Say", "it", "twice", env=keys)
    assert words.returncode == 0, words.stderr
    assert _sent(server)[-1]["content"] == "Say it twice"
    listed = run_ccw("cli", "history", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["count"] == 2
    both = run_ccw("cli", "Hello", "-p", "Hello again", env=keys)
    assert both.returncode == 2
    assert "give the prompt once" in both.stderr


def test_a_prompt_file_and_p_combine_and_stdin_alone_is_the_prompt(
    run_ccw: RunCcw,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
    project: Path,
) -> None:
    (project / "task.md").write_text("You review Python code.\n", encoding="utf-8")
    (project / "app.py").write_text("x = 1\n", encoding="utf-8")
    done = run_ccw("cli", "-f", "task.md", "-p", "Check @app.py", env=keys)
    assert done.returncode == 0, done.stderr
    content = _sent(server)[-1]["content"]
    assert content.startswith("<")  # the pack of app.py comes first
    assert "x = 1" in content
    assert content.endswith("You review Python code.\n\n\nCheck app.py")
    alone = run_ccw("cli", input="Just this text, @@ and all\n", env=keys)
    assert alone.returncode == 0, alone.stderr
    assert _sent(server)[-1]["content"] == "Just this text, @@ and all\n"


def test_a_silent_pipe_is_not_waited_on(
    project: Path, configured: Path, server: ProviderServer, ccw_env: dict[str, str]
) -> None:
    """An inherited stdin that never writes nor closes: the call goes on after a second."""
    env = {**ccw_env, "TEST_OPENAI_KEY": "sk-test"}
    with subprocess.Popen(
        [sys.executable, "-m", "ccw", "cli", "-p", "hello"],
        cwd=project,
        env=env,
        stdin=subprocess.PIPE,  # kept open, nothing written
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        out, err = _wait_open(proc)
    assert proc.returncode == 0, err
    assert out.strip() == DEFAULT_REPLY
    assert "standard input sent nothing" in err
    assert _sent(server)[-1]["content"] == "hello"


def test_input_dash_waits_for_a_slow_command(
    project: Path, configured: Path, server: ProviderServer, ccw_env: dict[str, str]
) -> None:
    env = {**ccw_env, "TEST_OPENAI_KEY": "sk-test"}
    with subprocess.Popen(
        [sys.executable, "-m", "ccw", "cli", "--input", "-", "Summarise the log"],
        cwd=project,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        time.sleep(1.5)  # longer than an unasked pipe is waited on
        out, err = proc.communicate(input="line one\nline two\n", timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == DEFAULT_REPLY
    assert "standard input sent nothing" not in err
    content = _sent(server)[-1]["content"]
    assert content == '<input source="stdin">\nline one\nline two\n</input>\n\nSummarise the log'


def _wait_open(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Read the process's output to its end while its stdin stays open."""
    assert proc.stdout is not None and proc.stderr is not None
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    out = proc.stdout.read()
    proc.wait(timeout=60)
    reader.join(timeout=10)
    return out, "".join(errors)


def test_system_and_model_options_reach_the_provider(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, keys: dict[str, str]
) -> None:
    done = run_ccw(
        "cli",
        "Be brief",
        "-s",
        "You answer in French.",
        "-o",
        "temperature",
        "0.2",
        "-o",
        "max_tokens",
        "20",
        "-o",
        "stop",
        "END",
        "-o",
        "seed",
        "7",
        "--json",
        env=keys,
    )
    assert done.returncode == 0, done.stderr
    body = [r for r in server.requests if r.method == "POST"][-1].body
    assert body["messages"][0] == {"role": "system", "content": "You answer in French."}
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 20
    assert body["seed"] == 7
    assert body["stop"] == ["END"]
    result = json.loads(done.stdout)
    assert result["finishReason"] == "stop"
    shown = run_ccw("cli", "detail", result["id"]).stdout
    assert "── system ──\nYou answer in French." in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-o", "temprature", "0.2"), "unknown model option 'temprature'"),
        (("-o", "temperature", "hot"), "-o temperature takes a number"),
        (("-o", "max_tokens", "0"), "-o max_tokens must be at least 1"),
        (("-o", "temperature"), "takes a key and a value"),
        (("--tool", "gemini", "-s", "Be brief"), "the gemini CLI takes its own settings"),
    ],
)
def test_bad_model_options_are_usage_errors(
    run_ccw: RunCcw,
    configured: Path,
    server: ProviderServer,
    keys: dict[str, str],
    args: tuple[str, ...],
    message: str,
) -> None:
    done = run_ccw("cli", "-p", "hi", *args, env=keys)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    if "unknown" in message:
        assert "temperature, max_tokens, top_p, seed, stop" in done.stderr
    assert [r for r in server.requests if r.method == "POST"] == []


class _CutServer(ThreadingHTTPServer):
    """An OpenAI-style server whose every answer stops at its token limit."""

    daemon_threads = True


class _CutHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps(
            {
                "id": "cut",
                "object": "chat.completion",
                "created": 0,
                "model": "gpt-4o",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "The answer is cut"},
                        "finish_reason": "length",
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def cut_server() -> Iterator[str]:
    server = _CutServer(("127.0.0.1", 0), _CutHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_an_answer_cut_by_max_tokens_says_so(
    run_ccw: RunCcw, project: Path, cut_server: str
) -> None:
    write_config(
        project,
        {
            "providers": [provider("oai", "openai", cut_server, apiKey="${TEST_KEY}")],
            "endpoints": [endpoint("gpt", "oai")],
            "defaultEndpoint": "gpt",
        },
    )
    env = {"TEST_KEY": "sk-test"}
    done = run_ccw("cli", "Tell me all", "--no-stream", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "The answer is cut"
    assert "cut at its token limit" in done.stderr and "-o max_tokens N" in done.stderr
    as_json = run_ccw("cli", "Tell me all", "--no-stream", "--json", env=env)
    assert json.loads(as_json.stdout)["finishReason"] == "length"


def test_dry_run_needs_no_key_and_warns_past_the_context_window(
    run_ccw: RunCcw, configured: Path, server: ProviderServer, project: Path
) -> None:
    (project / "small.md").write_text("a few words\n", encoding="utf-8")
    done = run_ccw("cli", "--dry-run", "--json", "Summarise @small.md")  # no key set
    assert done.returncode == 0, done.stderr
    planned = json.loads(done.stdout)
    assert planned["endpointId"] == "gpt"
    assert planned["contextWindow"] == 128000  # gpt-4o, from LiteLLM's bundled data
    assert planned["inputCost"] > 0
    assert "TEST_OPENAI_KEY" in done.stderr  # the call would need it: said, not refused
    assert server.requests == []
    shown = run_ccw("cli", "--dry-run", "Summarise @small.md")
    assert shown.returncode == 0, shown.stderr
    assert "1 file, ~" in shown.stdout and "of 128,000 input tokens" in shown.stdout


def test_dry_run_on_the_local_model_uses_its_configured_context(
    run_ccw: RunCcw, project: Path
) -> None:
    (project / "notes.md").write_text("note " * 3000, encoding="utf-8")
    done = run_ccw("cli", "--dry-run", "--json", "--model", "local", "Read @notes.md")
    assert done.returncode == 0, done.stderr
    planned = json.loads(done.stdout)
    assert planned["contextWindow"] == 2048
    assert planned["inputCost"] == 0
    assert any("takes 2,048" in w for w in planned["planWarnings"])
    assert "takes 2,048" in done.stderr
