"""An engine binary for unit tests that talks to no server: a small real executable that records each call
(argv and environment) and answers with the output a test gave it, so the engine's argv, environment and
parsing of real output are tested without S3 servers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

SCRIPT = """#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
call = {{"argv": sys.argv[1:], "env": dict(os.environ)}}
if "--files-from-raw" in sys.argv:  # the list file is removed once the engine is done: keep what it said
    with open(sys.argv[sys.argv.index("--files-from-raw") + 1]) as listed:
        call["files_from"] = listed.read()
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps(call) + "\\n")
with open(os.path.join(here, "answer.json")) as answer:
    answer = json.load(answer)
sys.stdout.write(answer["stdout"])
sys.stdout.flush()
sys.stderr.write(answer["stderr"])
sys.exit(answer["rc"])
"""


class Scripted:
    def __init__(self, directory: Path, name: str):
        directory.mkdir(mode=0o755, exist_ok=True)
        self.path = directory / name
        self.path.write_text(SCRIPT.format(python=sys.executable))
        self.path.chmod(0o755)
        self.answer()

    def answer(self, stdout: str = "", stderr: str = "", rc: int = 0) -> None:
        (self.path.parent / "answer.json").write_text(json.dumps({"stdout": stdout, "stderr": stderr, "rc": rc}))

    def calls(self) -> list[dict]:
        log = self.path.parent / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def scripted(tmp_path):
    return lambda name: Scripted(tmp_path / "bin", name)


# The secrets make_config gives the engines; no child process may see one on its command line.
SECRETS = ("source-secret", "target-secret")


def assert_no_secret_on_argv(calls):
    for call in calls:
        for secret in SECRETS:
            assert not any(secret in arg for arg in call["argv"]), call["argv"]
