"""Every Python block of docs/python.md and docs/MIGRATION.md runs against a real element.

Each ```python block must be preceded by an HTML comment saying what to do with it:

    <!-- snippet: NAME -->                  run it as a program
    <!-- snippet: NAME after OTHER -->      run OTHER's code first, then this, in one process
    <!-- snippet: NAME with PRELUDE -->     run a prelude of this file first (stand-ins for a
                                            framework that is not installed here)
    <!-- snippet: skip (REASON) -->         not run; the reason is required

A snippet that calls ``asyncio.run`` is a complete program; any other runs inside a running
event loop and may use top-level ``await`` (as in ``python -m asyncio``). Each runs in its own
interpreter, in a temporary directory, and must exit 0.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

import pytest

from conftest import ROOT

DOCS = ["docs/python.md", "docs/MIGRATION.md"]

ANNOTATION = re.compile(
    r"<!--\s*snippet:\s*(?:skip\s*\((?P<reason>[^)]+)\)|(?P<name>[\w-]+)"
    r"(?:\s+after\s+(?P<after>[\w-]+))?(?:\s+with\s+(?P<prelude>[\w-]+))?)\s*-->")

# Pipecat is not installed here: the smallest stand-ins for the names its snippet uses, so that
# the snippet's own code (the agentaudio part) really runs.
PRELUDES = {
    "pipecat-stand-ins": '''
class FrameProcessor:
    def __init__(self):
        self.pushed = []
    async def process_frame(self, frame, direction):
        pass
    async def push_frame(self, frame, direction=None):
        self.pushed.append(frame)

class Frame:
    pass

class TTSAudioRawFrame(Frame):
    def __init__(self, audio, sample_rate, num_channels):
        self.audio, self.sample_rate, self.num_channels = audio, sample_rate, num_channels

class InterruptionFrame(Frame):
    pass

class BotStartedSpeakingFrame(Frame):
    pass

class BotStoppedSpeakingFrame(Frame):
    pass
''',
}

# A complete program (it calls asyncio.run itself) runs as it is; a fragment runs inside a
# running event loop, with top-level await allowed, as in `python -m asyncio`.
RUNNER = r'''
import ast, asyncio, sys
path = sys.argv[1]
source = open(path).read()
scope = {"__name__": "__main__"}
if "asyncio.run(" in source:
    exec(compile(source, path, "exec"), scope)
else:
    code = compile(source, path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

    async def main():
        result = eval(code, scope)
        if asyncio.iscoroutine(result):
            await result

    asyncio.run(main())
'''


@dataclass
class Snippet:
    doc: str
    line: int
    code: str
    name: Optional[str]
    after: Optional[str]
    prelude: Optional[str]
    skip: Optional[str]

    @property
    def id(self) -> str:
        return f"{os.path.basename(self.doc)}:{self.name or 'skip'}:{self.line}"


def snippets(doc: str) -> list[Snippet]:
    lines = (ROOT / doc).read_text().splitlines()
    found = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            match = ANNOTATION.search(lines[j]) if j >= 0 else None
            end = lines.index("```", i + 1)
            code = "\n".join(lines[i + 1:end]) + "\n"
            if match is None:
                found.append(Snippet(doc, i + 1, code, None, None, None, None))
            else:
                found.append(Snippet(doc, i + 1, code, match["name"], match["after"],
                                     match["prelude"], match["reason"]))
            i = end
        i += 1
    return found


ALL = [s for doc in DOCS for s in snippets(doc)]


def test_every_python_block_says_whether_it_runs():
    missing = [f"{s.doc}:{s.line}" for s in ALL if s.name is None and s.skip is None]
    assert not missing, f"python blocks without a <!-- snippet: ... --> comment: {missing}"
    names = [(s.doc, s.name) for s in ALL if s.name]
    assert len(names) == len(set(names)), "two snippets with one name"
    for s in ALL:
        if s.prelude:
            assert s.prelude in PRELUDES, f"{s.id}: no prelude {s.prelude!r}"
    assert sum(1 for s in ALL if s.skip is None) >= 8


def source_of(snippet: Snippet) -> str:
    parts = []
    if snippet.after:
        before = [s for s in ALL if s.doc == snippet.doc and s.name == snippet.after]
        assert before, f"{snippet.id}: no snippet {snippet.after!r} before it"
        parts.append(source_of(before[0]))
    if snippet.prelude:
        parts.append(PRELUDES[snippet.prelude])
    parts.append(snippet.code)
    return "\n".join(parts)


@pytest.mark.parametrize("snippet", [s for s in ALL if s.name], ids=lambda s: s.id)
def test_snippet_runs(snippet: Snippet, tmp_path):
    script = tmp_path / "snippet.py"
    script.write_text(source_of(snippet))
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "python")
    done = subprocess.run([sys.executable, str(runner), str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (
        f"{snippet.id} failed:\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}")
