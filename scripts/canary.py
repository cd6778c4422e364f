"""Run the series on the newest published releases (``make canary``): what breaks next, and which package breaks it.

1. A venv, ``.venv-canary``, with the registry's newest TensorFlow (a release candidate counts),
   NumPy, Gymnasium and Keras. Then tf-keras and keras-rl2 beside them; when a pin refuses that
   TensorFlow (tf-keras x.y needs TensorFlow x.y), the package is forced in with ``--no-deps``, as a
   learner would. Then the test tools, newest too, and the helper package (``-e .``, ``--no-deps``:
   pyproject.toml's ranges would refuse). What was installed is recorded in ``.venv-canary/canary.json``;
   the venv is reused while those versions are still the newest (delete the folder to rebuild).
2. The unit tests and the smoke run of every ``notebooks/*.ipynb`` there, as ``make unit`` and
   ``make notebooks`` run them, each with ``--junitxml``.
3. One line per failing test: its id and the package that caused it (the innermost site-packages
   frame of its traceback, else the first package its error text names, else "unknown").
   The result is written to ``docs/canary.json`` and the versions table of docs/stack.md.

Exits 1 if anything failed. Standard library only (it drives another Python).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402 - the verbs' own commands, so the canary runs the tests exactly as `make test` does

VENV = ROOT / ".venv-canary"
RECORD = ROOT / "docs" / "canary.json"
STACK_DOC = ROOT / "docs" / "stack.md"
#: the packages under test, newest first installed; tensorflow's newest may be a release candidate
NEWEST = ["tensorflow", "numpy", "gymnasium", "keras"]
#: installed beside them, forced with --no-deps if their pins refuse that TensorFlow
BESIDE = ["tf-keras", "keras-rl2"]
PRERELEASES = {"tensorflow"}
TOOLS = ["matplotlib", "pillow", "packaging", "jupyterlab", "ipykernel", "nbclient", "nbconvert", "nbformat"]
TOOLS += ["nbval", "pytest", "pytest-xdist", "ruff"]
#: import name (a folder in site-packages) -> the distribution a learner would blame
DISTRIBUTIONS = {
    "tf_keras": "tf-keras",
    "rl": "keras-rl2",
    "google": "protobuf",
    "PIL": "pillow",
    "pygame": "pygame-ce",
}
#: folders of the tools that run the tests: their frames are the harness, not the cause
HARNESS = {"_pytest", "pytest", "pluggy", "xdist", "execnet", "nbval", "nbclient", "jupyter_client", "ipykernel"}
HARNESS |= {"IPython", "traitlets", "tornado", "zmq", "asyncio"}
NAMED = re.compile(r"\b(tf[-_]keras|keras[-_]rl2|tensorflow|keras|numpy|gymnasium)\b", re.IGNORECASE)
FRAME = re.compile(r"site-packages[/\\]+([A-Za-z_][A-Za-z0-9_]*)")
ANSI = re.compile(r"(\x1b|#x1B)\[[0-9;]*m")  # colours of a notebook's error; junitxml writes ESC as #x1B
BEGIN, END = "<!-- canary:begin (scripts/canary.py writes this table) -->", "<!-- canary:end -->"


def venv_python(venv: Path = VENV) -> Path:
    return tasks.venv_python(venv)


def newest(python: str, package: str) -> str | None:
    """The registry's newest version of ``package`` (``pip index versions``), or None without the network."""
    command = [python, "-m", "pip", "index", "versions", package]
    command += ["--pre"] if package in PRERELEASES else []
    out = subprocess.run(command, capture_output=True, text=True).stdout
    found = re.search(rf"^{re.escape(package)} \(([^)]+)\)", out, re.MULTILINE | re.IGNORECASE)
    return found.group(1) if found else None


def pip(python: str, *args: str) -> int:
    command = [python, "-m", "pip", "install", "--quiet", *args]
    print("+", subprocess.list2cmdline(command), flush=True)
    return subprocess.run(command, cwd=ROOT).returncode


def build(venv: Path, wanted: dict[str, str]) -> dict:
    """Install ``wanted`` (name -> version) into ``venv``; the record of what went in and what was forced."""
    python = str(venv_python(venv))
    if not venv_python(venv).exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip(python, "--upgrade", "pip")
    pins = [f"{name}=={wanted[name]}" for name in NEWEST]
    pins[NEWEST.index("gymnasium")] = f"gymnasium[classic-control]=={wanted['gymnasium']}"
    if pip(python, "--upgrade", *pins):
        raise SystemExit("error: the newest TensorFlow, NumPy, Gymnasium and Keras do not install together")
    forced = []
    for name in BESIDE:
        if pip(python, f"tensorflow=={wanted['tensorflow']}", f"{name}=={wanted[name]}"):
            print(f"  {name} {wanted[name]} refuses tensorflow {wanted['tensorflow']}: forcing it with --no-deps")
            forced.append(name)
            if pip(python, "--no-deps", f"{name}=={wanted[name]}"):
                raise SystemExit(f"error: {name} {wanted[name]} does not install even with --no-deps")
    constraints = venv / "canary-constraints.txt"
    constraints.write_text("".join(f"{name}=={wanted[name]}\n" for name in NEWEST))
    if pip(python, "-c", str(constraints), *TOOLS) or pip(python, "--no-deps", "-e", "."):
        raise SystemExit("error: the test tools or the helper package do not install beside the newest releases")
    listed = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True)
    installed = {normalise(entry["name"]): entry["version"] for entry in json.loads(listed.stdout)}
    record = {"newest": wanted, "forced": forced, "installed": installed, "python": python_version(python)}
    (venv / "canary.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def normalise(name: str) -> str:
    """A distribution's name as the registry compares them: ``tf_keras`` and ``TF-Keras`` are ``tf-keras``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True
    ).stdout.strip()


def reusable(venv: Path, wanted: dict[str, str | None]) -> dict | None:
    """The venv's record when it holds exactly the newest versions (or the registry cannot be asked), else None."""
    record_file = venv / "canary.json"
    if not (record_file.is_file() and venv_python(venv).exists()):
        return None
    record = json.loads(record_file.read_text())
    if None in wanted.values() or record.get("newest") == wanted:
        return record
    return None


def test_commands(python: str, root: Path, reports: Path) -> list[tuple[str, list[str], dict[str, str], Path]]:
    """``(label, command, extra environment, junit XML)`` for the unit tests and every notebooks/*.ipynb found."""
    unit_xml, notebooks_xml = reports / "unit.xml", reports / "notebooks.xml"
    logging = ["-o", "junit_logging=all"]  # each test's captured output, where a failure may name its package
    ((unit, _),) = tasks.verb_commands("unit", python, [f"--junitxml={unit_xml}", *logging])
    ((notebooks, smoke),) = tasks.verb_commands("notebooks", python, [f"--junitxml={notebooks_xml}", *logging])
    found = [path.relative_to(root).as_posix() for path in sorted((root / "notebooks").glob("*.ipynb"))]
    at = notebooks.index("notebooks")  # the folder `make notebooks` gives: here each notebook by name
    notebooks = notebooks[:at] + found + notebooks[at + 1 :]
    return [("unit tests", unit, {}, unit_xml), ("notebook cells", notebooks, smoke, notebooks_xml)]


def changed(installed: dict[str, str], requirements: Path = ROOT / "requirements.txt") -> list[str]:
    """The packages under test whose canary version is none of the lock's pins for them (e.g. a TensorFlow rc)."""
    pinned = set()
    for line in requirements.read_text(encoding="utf-8").splitlines():
        found = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==([^;\s]+)", line)
        pinned |= {(normalise(found.group(1)), found.group(2))} if found else set()
    names = [*NEWEST, *BESIDE, "keras-nightly"]
    return [name for name in names if name in installed and (name, installed[name]) not in pinned]


def _named(text: str, among: list[str] | None) -> str | None:
    """The first package under test that ``text`` names (only those in ``among`` when given)."""
    for found in NAMED.finditer(text):
        name = normalise(found.group(1))
        if among is None or name in among:
            return name
    return None


def cause(text: str, output: str = "", suspects: list[str] = ()) -> str:
    """The package that caused a failure, from its traceback ``text`` and the test's captured ``output``.

    In this order: the innermost site-packages frame (the test tools' own frames skipped); a package of
    ``suspects`` (those whose version differs from the lock) named in the text, then in the output;
    the first package the text names; "unknown".
    """
    text, output = ANSI.sub("", text), ANSI.sub("", output)
    frames = [name for name in FRAME.findall(text) if name not in HARNESS]
    if frames:
        return DISTRIBUTIONS.get(frames[-1], frames[-1].replace("_", "-"))
    suspects = list(suspects)
    return _named(text, suspects) or _named(output, suspects) or _named(text, None) or "unknown"


def failures(junit_xml: Path, suspects: list[str] = ()) -> tuple[int, list[tuple[str, str]]]:
    """``(number of tests run, [(test id, package), ...])`` from a pytest junit XML; skipped tests are not counted."""
    root = ET.parse(junit_xml).getroot()
    run, failed = 0, []
    for case in root.iter("testcase"):
        if case.find("skipped") is not None:
            continue
        run += 1
        problem = case.find("failure")
        problem = case.find("error") if problem is None else problem
        if problem is not None:
            test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
            output = "\n".join(part.text or "" for tag in ("system-out", "system-err") for part in case.iter(tag))
            text = f"{problem.get('message', '')}\n{problem.text or ''}"
            failed.append((test_id, cause(text, output, suspects)))
    return run, failed


def versions_line(record: dict) -> str:
    names = NEWEST[:1] + BESIDE[:1] + NEWEST[1:] + BESIDE[1:]
    names += [name for name in ("keras-nightly",) if name in record["installed"]]  # TensorFlow's rc requires it
    shown = [
        f"{name} {record['installed'].get(name, '?')}" + (" (forced)" if name in record["forced"] else "")
        for name in names
    ]
    return f"Python {record['python']}: " + ", ".join(shown)


def stack_table(result: dict) -> str:
    """The table docs/stack.md shows between its canary markers."""
    lines = [BEGIN, "", f"Last canary run: {result['date']}, {result['versions']}.", ""]
    lines += [f"- {label}: {outcome}" for label, outcome in result["results"].items()]
    lines += [f"- failed: `{test_id}` ({package})" for test_id, package in result["failed"]]
    return "\n".join([*lines, "", END])


def write_stack_doc(result: dict, doc: Path = STACK_DOC) -> None:
    text = doc.read_text(encoding="utf-8")
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    doc.write_text(text[:start] + stack_table(result) + text[stop:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild .venv-canary even if it is up to date")
    parser.add_argument("--no-record", action="store_true", help="do not write docs/canary.json and docs/stack.md")
    args = parser.parse_args(argv)
    wanted = {name: newest(sys.executable, name) for name in NEWEST + BESIDE}
    print("newest on the registry:", ", ".join(f"{name} {version}" for name, version in wanted.items()), flush=True)
    record = None if args.rebuild else reusable(VENV, wanted)
    if record is None:
        if None in wanted.values():
            print("error: the registry did not answer for every package, and no canary venv is built", file=sys.stderr)
            return 2
        record = build(VENV, wanted)
    else:
        print(f"reusing {VENV.name}: it holds the newest versions")
    python, reports = str(venv_python(VENV)), VENV / "reports"
    reports.mkdir(exist_ok=True)
    env = dict(os.environ, JUPYTER_PATH=str(VENV / "share" / "jupyter"))  # its kernel, not .venv's
    results, failed, suspects = {}, [], changed(record["installed"])
    for label, command, extra, xml in test_commands(python, ROOT, reports):
        xml.unlink(missing_ok=True)
        print("+", " ".join(f"{k}={v}" for k, v in extra.items()), subprocess.list2cmdline(command), flush=True)
        code = subprocess.run(command, cwd=ROOT, env=dict(env, **extra)).returncode
        if not xml.is_file():
            results[label] = f"did not run (pytest exit code {code})"
            failed.append((label, "unknown"))
            continue
        run, these = failures(xml, suspects)
        results[label] = f"{run - len(these)} of {run} passed"
        failed += these
    result = {
        "date": datetime.date.today().isoformat(),
        "versions": versions_line(record),
        "results": results,
        "failed": failed,
    }
    print(f"\ncanary summary: {result['versions']}")
    for label, outcome in results.items():
        print(f"  {label}: {outcome}")
    for test_id, package in failed:
        print(f"FAIL {test_id}  [{package}]")
    print(f"canary: {len(failed)} failed" if failed else "canary: everything passed")
    if not args.no_record:
        RECORD.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        write_stack_doc(result)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
