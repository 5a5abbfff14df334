"""Follow a markdown guide the way a reader would: the convention of docs/installing.md and
docs/production.md, and the runner the install test drives.

A fenced code block preceded by an HTML comment (blank lines may separate them) is a step::

    <!-- install-test: run -->
    ```sh
    python manage.py migrate
    ```

The comments are invisible on GitHub and PyPI. Verbs:

``run [id=NAME] [noinput] [printed-by=PROCESS]``
    Run the block with bash (``set -e``) in the current folder. Like a reader's shell, the
    folder (``cd``) and exported variables (``source .venv/bin/activate``, ``export``) carry
    over to the next steps. ``id`` keeps the output for the test; ``noinput`` adds
    ``--noinput`` to ``manage.py createsuperuser`` (the test supplies
    ``DJANGO_SUPERUSER_*``); ``printed-by`` asserts that every line of the block is a line
    that background process printed (the settings ``xpm_sandbox`` tells you to export).
``background NAME ready=URL`` or ``background NAME ready-text=TEXT``
    Start the block's one command and leave it running, like a second shell; wait until
    something listens at URL's address or TEXT is in its output. Starting NAME again restarts it
    with the environment of that moment.
``append PATH [before=TEXT]``, ``write PATH``
    Add the block to the end of PATH (or before its first line that starts with TEXT), or
    make PATH the block.
``replace PATH NAME``
    Replace the first top-level assignment of NAME in the Python file PATH with the block.
``env-file PATH``
    An environment file (KEY=VALUE lines) the reader writes at PATH. The test gives values
    for the placeholders (``...``) and its own addresses, writes the file, and commands that
    mention PATH read that file.
``output-of ID``
    Every line of the block is a line of what step ID printed.
``skip REASON``
    Not run, for the reason given (a variant for another Django, a systemd unit). Python
    blocks are still compiled.

Every fenced block of a guide must carry one of these, so nothing a reader types escapes
the test. Before a block runs, the test's substitutions apply (its free ports instead of
8000 and 8765, the freshly built wheel instead of the package on PyPI, its interpreter).

``python tests/install/docsteps.py docs/installing.md`` lists a guide's steps.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DIRECTIVE = re.compile(r"^\s*<!--\s*install-test:\s*(?P<body>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)\s*$")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")
VERBS = {"run", "background", "append", "write", "replace", "env-file", "output-of", "skip"}
# bash's own variables, not part of the environment a step hands on.
SHELL_VARIABLES = {"_", "SHLVL", "PWD", "OLDPWD"}


class GuideError(AssertionError):
    """The guide does not do what it says (or breaks the convention above)."""


@dataclass
class Step:
    verb: str
    args: list[str]
    options: dict[str, str]
    lang: str
    code: str
    line: int
    section: str
    doc: str

    @property
    def id(self) -> str | None:
        return self.options.get("id")

    def label(self) -> str:
        first = next((ln for ln in self.code.splitlines() if ln.strip()), "")
        target = " ".join(self.args)
        what = target if self.verb not in ("run", "background", "skip") else first
        if self.verb == "background":
            what = f"{target}: {first}"
        if len(what) > 60:
            what = what[:57] + "..."
        return f"{self.doc}:{self.line} {self.verb} {what}"


def parse_guide(path: Path) -> list[Step]:
    """The steps of a guide; every fenced block must carry a directive."""
    lines = path.read_text(encoding="utf-8").splitlines()
    steps: list[Step] = []
    section = ""
    pending: tuple[str, int] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = HEADING.match(line)
        if heading and not line.startswith("    "):
            section = heading.group("title")
        directive = DIRECTIVE.match(line)
        if directive:
            pending = (directive.group("body"), index + 1)
            index += 1
            continue
        fence = FENCE.match(line)
        if fence:
            indent, marker = len(fence.group("indent")), fence.group("fence")
            opened = index + 1
            body: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith(marker):
                body.append(
                    lines[index][indent:] if lines[index][:indent].isspace() else lines[index]
                )
                index += 1
            where = f"{path.name}:{opened}"
            if index >= len(lines):
                raise GuideError(f"{where}: unclosed code block")
            if pending is None:
                raise GuideError(
                    f"{where}: a code block without an <!-- install-test: ... --> comment "
                    f"(section {section!r}); say how the test follows it, or skip it with a reason"
                )
            steps.append(
                make_step(
                    pending[0],
                    fence.group("lang"),
                    "\n".join(body) + "\n",
                    pending[1],
                    section,
                    path.name,
                )
            )
            pending = None
        elif pending is not None and line.strip():
            raise GuideError(
                f"{path.name}:{pending[1]}: the directive is not followed by a code block"
            )
        index += 1
    return steps


def make_step(body: str, lang: str, code: str, line: int, section: str, doc: str) -> Step:
    verb, _, rest = body.partition(" ")
    if verb not in VERBS:
        raise GuideError(f"{doc}:{line}: unknown install-test verb {verb!r}")
    if verb == "skip":
        if not rest.strip():
            raise GuideError(f"{doc}:{line}: skip needs a reason")
        args, options = [rest.strip()], {}
    else:
        args, options = [], {}
        for token in shlex.split(rest):
            key, eq, value = token.partition("=")
            if eq:
                options[key] = value
            elif token in ("noinput",):
                options[token] = "yes"
            else:
                args.append(token)
    expected_args = {"run": 0, "background": 1, "append": 1, "write": 1, "replace": 2,
                     "env-file": 1, "output-of": 1, "skip": 1}[verb]  # fmt: skip
    if len(args) != expected_args:
        raise GuideError(f"{doc}:{line}: {verb} takes {expected_args} argument(s), got {args}")
    if verb == "background" and not ({"ready", "ready-text"} & options.keys()):
        raise GuideError(f"{doc}:{line}: background needs ready=URL or ready-text=TEXT")
    return Step(verb, args, options, lang, code, line, section, doc)


@dataclass
class Output:
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Background:
    name: str
    process: subprocess.Popen
    log: Path
    ready_at: float = 0.0  # time.time() when it was seen ready

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass
class GuideRunner:
    """A reader's shell: the current folder, the exported environment, what runs beside."""

    cwd: Path
    env: dict[str, str]
    logs: Path
    substitutions: list[tuple[str, str]] = field(default_factory=list)
    env_file_values: dict[str, str] = field(default_factory=dict)
    run_timeout: float = 300
    pip_timeout: float = 900
    ready_timeout: float = 90
    outputs: dict[str, Output] = field(default_factory=dict)
    processes: dict[str, Background] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)
    env_files: dict[str, Path] = field(default_factory=dict)
    _count: int = 0

    # -- the steps ---------------------------------------------------------------------------

    def follow(self, steps: Iterable[Step], before: dict[str, Callable[[], None]] | None = None):
        for step in steps:
            if step.id and before and step.id in before:
                before[step.id]()
            started = time.monotonic()
            print(f"\n=== {step.label()}", flush=True)
            getattr(self, "do_" + step.verb.replace("-", "_"))(step, self.substitute(step.code))
            elapsed = time.monotonic() - started
            self.timings.append((step.label(), elapsed))
            print(f"    ({elapsed:.1f} s)", flush=True)

    def substitute(self, text: str) -> str:
        for pattern, replacement in self.substitutions:
            text = re.sub(pattern, lambda _m, r=replacement: _m.expand(r), text, flags=re.M)
        for path, actual in self.env_files.items():
            text = text.replace(path, str(actual))
        return text

    def do_run(self, step: Step, code: str) -> None:
        if step.options.get("noinput"):
            code = re.sub(
                r"(manage\.py createsuperuser)\b(.*)$", r"\1\2 --noinput", code, flags=re.M
            )
        if "printed-by" in step.options:
            self.assert_printed_by(step, code, step.options["printed-by"])
        timeout = self.pip_timeout if re.search(r"\bpip install\b", code) else self.run_timeout
        result = self.bash(code, timeout=timeout, name=step.id or f"step{self._count + 1}")
        if step.id:
            self.outputs[step.id] = result

    def do_background(self, step: Step, code: str) -> None:
        commands = [
            ln for ln in code.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
        ]
        if len(commands) != 1:
            raise GuideError(f"{step.label()}: a background block holds exactly one command")
        name = step.args[0]
        self.stop(name)
        self._count += 1
        log = self.logs / f"{self._count:02d}-{name}.log"
        handle = log.open("w", encoding="utf-8")
        process = subprocess.Popen(
            ["bash", "-c", f"exec {commands[0]}"],
            cwd=self.cwd,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        handle.close()
        self.processes[name] = Background(name, process, log)
        ready = step.options.get("ready")
        text = step.options.get("ready-text")
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if process.poll() is not None:
                raise GuideError(
                    f"{step.label()}: {name} exited ({process.returncode}):\n"
                    + tail(log.read_text())
                )
            if ready and answers(self.substitute(ready)):
                break
            if text and text in log.read_text(encoding="utf-8", errors="replace"):
                break
            if time.monotonic() > deadline:
                raise GuideError(
                    f"{step.label()}: {name} not ready after {self.ready_timeout:.0f} s:\n"
                    + tail(log.read_text())
                )
            time.sleep(0.25)
        self.processes[name].ready_at = time.time()
        print(f"    {name} running (pid {process.pid}), log {log}", flush=True)

    def do_append(self, step: Step, code: str) -> None:
        self.check_python(step, code)
        path = self.cwd / step.args[0]
        if not path.exists():
            raise GuideError(f"{step.label()}: {path} does not exist")
        existing = path.read_text(encoding="utf-8")
        before = step.options.get("before")
        if before is None:
            path.write_text(existing.rstrip("\n") + "\n\n" + code, encoding="utf-8")
            return
        lines = existing.splitlines(keepends=True)
        at = next((i for i, ln in enumerate(lines) if ln.strip().startswith(before)), None)
        if at is None:
            raise GuideError(f"{step.label()}: {path.name} has no line starting {before!r}")
        path.write_text("".join(lines[:at]) + code + "\n" + "".join(lines[at:]), encoding="utf-8")

    def do_write(self, step: Step, code: str) -> None:
        self.check_python(step, code)
        path = self.cwd / step.args[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")

    def do_replace(self, step: Step, code: str) -> None:
        self.check_python(step, code)
        relative, name = step.args
        path = self.cwd / relative
        source = path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign | ast.AnnAssign) and name in assigned_names_of(node):
                lines = source.splitlines(keepends=True)
                start, end = node.lineno - 1, node.end_lineno
                path.write_text(
                    "".join(lines[:start]) + code + "".join(lines[end:]), encoding="utf-8"
                )
                return
        raise GuideError(f"{step.label()}: {relative} has no top-level assignment of {name}")

    def do_env_file(self, step: Step, code: str) -> None:
        values: dict[str, str] = {}
        for raw in code.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, eq, value = line.partition("=")
            if not eq or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", key):
                raise GuideError(f"{step.label()}: not a KEY=VALUE line: {raw!r}")
            values[key] = value
        unknown = self.env_file_values.keys() - values.keys()
        if unknown:
            raise GuideError(f"{step.label()}: the guide's file has no {sorted(unknown)}")
        values.update(self.env_file_values)
        placeholders = sorted(k for k, v in values.items() if "..." in v)
        if placeholders:
            raise GuideError(f"{step.label()}: the test gave no value for {placeholders}")
        self._count += 1
        path = self.logs / f"{self._count:02d}-env"
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
        self.env_files[step.args[0]] = path

    def do_output_of(self, step: Step, code: str) -> None:
        source = step.args[0]
        if source not in self.outputs:
            raise GuideError(f"{step.label()}: no step with id={source} ran before")
        printed = {ln.strip() for ln in self.outputs[source].stdout.splitlines()}
        missing = [ln for ln in code.splitlines() if ln.strip() and ln.strip() not in printed]
        if missing:
            raise GuideError(
                f"{step.label()}: {source} did not print {missing}; it printed:\n"
                + self.outputs[source].stdout
            )

    def do_skip(self, step: Step, code: str) -> None:
        self.check_python(step, code)
        print(f"    skipped: {step.args[0]}", flush=True)

    # -- helpers -----------------------------------------------------------------------------

    def assert_printed_by(self, step: Step, code: str, name: str) -> None:
        if name not in self.processes:
            raise GuideError(f"{step.label()}: {name} is not running")
        printed = {ln.strip() for ln in self.processes[name].output().splitlines()}
        missing = [
            ln.strip()
            for ln in code.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#") and ln.strip() not in printed
        ]
        if missing:
            raise GuideError(
                f"{step.label()}: {name} did not print {missing}; it printed:\n"
                + self.processes[name].output()
            )

    def check_python(self, step: Step, code: str) -> None:
        if step.lang == "python":
            try:
                compile(code, step.label(), "exec")
            except SyntaxError as exc:
                raise GuideError(f"{step.label()}: {exc}") from exc

    def bash(self, code: str, *, timeout: float, name: str = "shell") -> Output:
        """Run ``code`` like a reader's shell would; the folder and exports carry over."""
        self._count += 1
        base = self.logs / f"{self._count:02d}-{name}"
        script = base.with_suffix(".sh")
        state_pwd, state_env = base.with_suffix(".pwd"), base.with_suffix(".env")
        script.write_text(
            f"set -e\ncd {shlex.quote(str(self.cwd))}\n{code}\n"
            f"pwd > {shlex.quote(str(state_pwd))}\n"
            f"env -0 > {shlex.quote(str(state_env))}\n",
            encoding="utf-8",
        )
        out_path, err_path = base.with_suffix(".out"), base.with_suffix(".err")
        with out_path.open("w") as out, err_path.open("w") as err:
            process = subprocess.Popen(
                ["bash", str(script)],
                env=self.env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(process)
                raise GuideError(
                    f"timed out after {timeout:.0f} s:\n{code}\n{tail(out_path.read_text())}"
                    f"\n{tail(err_path.read_text())}"
                ) from None
        result = Output(out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))
        print(tail(result.stdout, 10), tail(result.stderr, 10), sep="", end="", flush=True)
        if process.returncode != 0:
            raise GuideError(
                f"exit status {process.returncode}:\n{code}\n--- stdout\n{tail(result.stdout, 60)}"
                f"\n--- stderr\n{tail(result.stderr, 60)}"
            )
        self.cwd = Path(state_pwd.read_text().strip())
        env = {}
        for entry in state_env.read_bytes().split(b"\0"):
            key, eq, value = entry.decode(errors="replace").partition("=")
            if eq and key not in SHELL_VARIABLES:
                env[key] = value
        self.env = env
        return result

    def stop(self, name: str) -> None:
        background = self.processes.pop(name, None)
        if background is not None:
            kill_group(background.process)

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)


def kill_group(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process's group, SIGKILL it after ``grace`` seconds (bounded waits)."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def answers(url: str) -> bool:
    """Whether a server listens at ``url``'s host and port.

    Only a connection, no request: a request without the site's host name would be refused
    (400) and logged as an error, which Django emails to ADMINS.
    """
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=2):
            return True
    except OSError:
        return False


def assigned_names_of(node: ast.Assign | ast.AnnAssign) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {t.id for t in targets if isinstance(t, ast.Name)}


def tail(text: str, lines: int = 40) -> str:
    kept = text.splitlines()[-lines:]
    return "".join(f"    | {ln}\n" for ln in kept)


def main(argv: list[str] | None = None) -> int:
    for name in argv if argv is not None else sys.argv[1:]:
        for step in parse_guide(Path(name)):
            options = " ".join(f"{k}={v}" for k, v in step.options.items())
            print(f"{step.label()}  {options}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
