"""Progress of long runs: a self-rewriting line on a terminal, silence everywhere else."""

from __future__ import annotations

import io

from plan import progress as progress_module
from plan.cli import main
from plan.engine import PROJECT_DIR, run_program
from plan.progress import TerminalProgress, progress_on


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_is_throttled_rewritten_in_place_and_cleared():
    clock, stream = FakeClock(), io.StringIO()
    progress = TerminalProgress(stream, interval=0.25, clock=clock)
    for declared, now in [(1, 100.1), (2, 100.3), (3, 100.4), (4, 100.6)]:
        clock.now = now
        progress(declared)
    # A run shorter than one interval shows nothing; then at most one update per interval.
    assert stream.getvalue() == "\rdeclared 2 resources...\rdeclared 4 resources..."
    progress.clear()
    assert stream.getvalue().endswith("\r\033[K")


def test_not_a_terminal_gets_no_callback_and_no_output():
    stream = io.StringIO()
    with progress_on(stream) as progress:
        assert progress is None
    assert stream.getvalue() == ""


def test_the_engine_reports_every_declared_resource():
    counts: list[int] = []
    record = run_program(PROJECT_DIR / "Pulumi.dev.yaml", progress=counts.append)
    assert counts == list(range(1, len(record.resources) + 1))


def test_preview_keeps_captured_stderr_clean(capsys):
    assert main(["preview", "--stack", "dev"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "declared" not in captured.out


def test_preview_on_a_terminal_shows_progress_then_clears_it(monkeypatch, capsys):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr(progress_module, "INTERVAL_SECONDS", 0.0)
    assert main(["preview", "--stack", "dev"]) == 0
    shown = terminal.getvalue()
    assert shown.startswith("\rdeclared ") and shown.endswith("\r\033[K")
    assert "declared 40 resources..." in shown
    assert "declared" not in capsys.readouterr().out
