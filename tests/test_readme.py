"""Every example in README.md runs exactly as printed.

``console`` blocks: each ``$ gdlab ...`` line is run (in a temporary folder) and its output
compared line by line with the lines printed under it; a line ``...`` stands for any number
of lines. A following ``$ echo $?`` shows the command's exit code (otherwise it must be 0,
or 2 for a ``gdlab: error`` line). ``python`` blocks are doctests.
"""

import doctest
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text()
BLOCKS = re.findall(r"```console\n(.*?)```", TEXT, re.S)
GDLAB = [sys.executable, "-c", "import sys; from gdlab.cli import main; sys.exit(main())"]


def _examples():
    """``(command, expected lines, exit code or None)`` for every ``$ gdlab`` line."""
    out = []
    for block in BLOCKS:
        cmd, expected = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if cmd:
                    out.append([cmd, expected, None])
                cmd, expected = line[2:], []
            else:
                expected.append(line)
        if cmd:
            out.append([cmd, expected, None])
    examples = []
    for item in out:
        if item[0] == "echo $?":
            examples[-1][2] = int(item[1][0])
        else:
            examples.append(item)
    return [tuple(e) for e in examples]


def _matches(actual, expected):
    """Line match where '...' matches any run of lines (including none)."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(_matches(actual[i:], expected[1:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and _matches(actual[1:], expected[1:])


EXAMPLES = _examples()


def test_readme_has_the_two_commands():
    assert "make demo" in TEXT and "make test" in TEXT
    assert len(EXAMPLES) >= 10


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


@pytest.mark.parametrize("cmd,expected,code", EXAMPLES, ids=[c for c, _, _ in EXAMPLES])
def test_console_example(cmd, expected, code, workdir):
    argv = shlex.split(cmd)
    assert argv[0] == "gdlab"
    if argv[1] == "evaluate" and not (workdir / argv[2]).exists():
        subprocess.run(GDLAB + ["fit", "diabetes", "--out", argv[2], "--quiet"], cwd=workdir,
                       check=True, capture_output=True)
    p = subprocess.run(GDLAB + argv[1:], cwd=workdir, capture_output=True, text=True,
                       timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    is_error = any(line.startswith("gdlab: error") for line in expected)
    assert p.returncode == (code if code is not None else 2 if is_error else 0), p.stderr
    actual = (p.stderr if is_error else p.stdout).splitlines()
    assert _matches(actual, expected), "\n".join(actual)


def test_python_examples():
    failures, tried = doctest.testfile(str(README), module_relative=False,
                                       optionflags=doctest.ELLIPSIS)
    assert tried >= 8
    assert failures == 0


def test_gallery_commands_in_the_readme_are_the_makefile_recipe():
    makefile = (README.parent / "Makefile").read_text()
    recipe = [line.strip().replace("$(BIN)/", "").replace("$(GALLERY)", "docs/gallery")
              for line in makefile.split("gallery: $(STAMP)")[1].splitlines()[1:]
              if line.startswith("\t")]
    shown = re.findall(r"^`((?:gdlab|python) [^`]+)`", TEXT.split("## Gallery")[1], re.M)
    assert shown, "the gallery shows no commands"
    for cmd in shown:
        assert cmd in recipe, cmd
    for image in re.findall(r"\]\((docs/gallery/[^)]+)\)", TEXT):
        assert (README.parent / image).exists(), image
