"""Start-up of the command line: `--version`, `--help`, a Tab completion and `accounts list` on the demo book,
each against `python -c pass` measured in the same run.

    python bench/cli_startup.py [--repeats 15]

Every command starts the entry point of this checkout as the installed `cockpit` script does (program name
`cockpit`, `from cockpit.cli import main`), with a fresh config and data folder. The commands run in turn,
round after round, so that a change in the machine's load falls on all of them alike. The table gives the
median and the 90th percentile of each wall time, and the time above the reference: the median over the
rounds of the command's time less the reference's in the same round. Targets (issue 12), on the wall time
above the reference: `--version`, `--help` and completion under 0.3 s; `accounts list` on the demo book under
0.6 s. Beside them, the CPU seconds (user and system) of each process, which the load of other processes on
the machine changes less than the wall clock.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINT = "import sys; sys.argv[0] = 'cockpit'; from cockpit.cli import main; sys.exit(main())"


@dataclass(frozen=True)
class Command:
    label: str
    python_args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    target: float | None = None
    """Seconds of wall time above the reference that the command must stay under."""
    expect: str = ""
    """Text its output must contain: a command that fails fast would flatter the figures."""


def cockpit(
    label: str, *args: str, target: float | None = None, expect: str = "", env: dict[str, str] | None = None
) -> Command:
    return Command(label, ["-c", ENTRY_POINT, *args], env or {}, target, expect)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(command: Command, env: dict[str, str]) -> Timing:
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(
        [sys.executable, *command.python_args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env, **command.env},
        check=False,
    )
    timing = Timing(time.perf_counter() - started, children_cpu() - cpu)
    if done.returncode != 0 or command.expect not in done.stdout:
        sys.exit(f"{command.label} failed (exit code {done.returncode}):\n{done.stdout}{done.stderr}")
    return timing


def p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10, method="inclusive")[-1] if len(samples) >= 2 else samples[0]


def above(samples: list[float], reference: list[float]) -> float:
    """The median over the rounds of a command's figure less the reference's in the same round."""
    return statistics.median(sample - ref for sample, ref in zip(samples, reference, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="rounds of every command (default 15)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        env = {name: value for name, value in os.environ.items() if not name.startswith("COCKPIT_")}
        env |= {"HOME": folder, "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data")}
        demo = home / "demo.db"
        print("building the demo book ...", file=sys.stderr)
        run(cockpit("demo", "demo", "--no-open", "--db", str(demo)), env)
        reference = Command("python -c pass", ["-c", "pass"])
        commands = [
            reference,
            cockpit("cockpit --version", "--version", target=0.3, expect="cockpit "),
            cockpit("cockpit --help", "--help", target=0.3, expect="accounts"),
            cockpit(
                "completion: cockpit ac<Tab>",
                target=0.3,
                expect="accounts",
                env={"_COCKPIT_COMPLETE": "complete_bash", "COMP_WORDS": "cockpit ac", "COMP_CWORD": "1"},
            ),
            cockpit(
                "accounts list (demo book)", "accounts", "list", "--db", str(demo), target=0.6, expect="id"
            ),
        ]
        for command in commands:  # a round not counted: compiled files written, files in the page cache
            run(command, env)
        timings: dict[str, list[Timing]] = {command.label: [] for command in commands}
        for _ in range(args.repeats):
            for command in commands:
                timings[command.label].append(run(command, env))
    base = timings[reference.label]
    base_wall, base_cpu = [t.wall for t in base], [t.cpu for t in base]
    print(f"command-line start-up, {args.repeats} rounds, in ms ('above': above python -c pass)")
    print(f"  {'':<28} {'wall':>6} {'p90':>6} {'above':>6}   {'cpu':>5} {'above':>6}   target (wall above)")
    for command in commands:
        wall, cpu = [t.wall for t in timings[command.label]], [t.cpu for t in timings[command.label]]
        line = f"  {command.label:<28} {statistics.median(wall) * 1000:6.0f} {p90(wall) * 1000:6.0f}"
        if command.target is None:
            line += f" {'':>6}   {statistics.median(cpu) * 1000:5.0f}"
        else:
            wall_above = above(wall, base_wall)
            verdict = "met" if wall_above < command.target else "MISSED"
            line += (
                f" {wall_above * 1000:6.0f}   {statistics.median(cpu) * 1000:5.0f} "
                f"{above(cpu, base_cpu) * 1000:6.0f}   < {command.target * 1000:.0f}: {verdict}"
            )
        print(line)


if __name__ == "__main__":
    main()
