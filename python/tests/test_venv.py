"""The README's venv recipe, run as written: a venv made with --system-site-packages imports
agentaudio (and agentaudio.aiortc) from this checkout."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

from conftest import ROOT


def readme_recipe() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- venv-recipe[^>]*-->\s*```sh\n(.*?)```", text, re.S)
    assert match, "README.md has no venv recipe block"
    return match.group(1)


def test_readme_venv_recipe_imports_the_package(tmp_path: pathlib.Path):
    recipe = readme_recipe()
    assert ".venv" in recipe
    # Run it from the repository root as the README says, with the venv made elsewhere.
    script = recipe.replace(".venv", str(tmp_path / "venv"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^agentaudio \d", done.stdout, re.M), done.stdout
    # The package came from this checkout, through the venv's .pth file.
    where = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "python"), "-c",
         "import agentaudio; print(agentaudio.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert pathlib.Path(where.stdout.strip()).resolve() == \
        (ROOT / "python" / "agentaudio" / "__init__.py").resolve()
