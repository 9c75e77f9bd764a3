"""Hostile input: how fast and with how much memory each is refused.

Each case runs in a fresh process (so that peak memory is its own) and prints
the time to the refusal and the process's peak resident memory (VmHWM), next
to a clean load of the shipped policies for reference.  The issue's bar for
the billion-laughs file: refused in under a second with under 100 MB peak.
Exits 1 if a case is not refused.

    python bench/bench_hostile.py
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def billion_laughs(levels: int = 26) -> str:
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f'{names[0]}: &{names[0]} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


POLICY_CASES = {
    "billion laughs (1 KB, 9**26 'lol's)": lambda: billion_laughs(),
    "file over the size bound (9 MiB)": lambda: "a: " + "x" * (9 * 1024 * 1024) + "\n",
    "nesting 100,000 deep": lambda: "[" * 100_000 + "]" * 100_000 + "\n",
    "100,000 duplicate-free keys then one duplicate": lambda: "".join(f"k{i}: 1\n" for i in range(100_000)) + "k0: 2\n",
}

MEASURE = textwrap.dedent("""
    import sys, time
    from engine.policy.loader import read_policy_dir
    t = time.perf_counter()
    result = read_policy_dir(sys.argv[1])
    elapsed = time.perf_counter() - t
    peak = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    refused = not result.documents and bool(result.problems)
    print(elapsed, peak, int(refused), result.problems[0] if result.problems else "")
    """)

TICKET = textwrap.dedent("""
    import json, sys, time
    from engine import PolicySet, TicketError
    policies = PolicySet.load(sys.argv[1], git=False)
    ticket = {"id": "T", "created_at": "2024-01-01T00:00:00Z", **{f"junk{i}": i for i in range(50_000)}}
    t = time.perf_counter()
    try:
        policies.evaluate(ticket)
        refused, message = 0, ""
    except TicketError as exc:
        refused, message = 1, str(exc)
    elapsed = time.perf_counter() - t
    peak = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(elapsed, peak, refused, message)
    """)


def _run(code: str, arg: str) -> tuple[float, float, bool, str]:
    out = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True, timeout=120, cwd=ROOT)
    if out.returncode != 0:
        return float("nan"), float("nan"), False, out.stderr.strip().splitlines()[-1]
    elapsed, peak, refused, message = (out.stdout.strip() + " ").split(" ", 3)
    return float(elapsed), int(peak) / 1024, refused == "1", message.strip()


def main() -> int:
    wrong = 0
    print(f"{'input':<48}{'ms':>10}{'peak MiB':>10}  refusal")
    elapsed, peak, _, _ = _run(MEASURE, str(ROOT / "policies"))
    print(f"{'(reference) clean load of the shipped policies':<48}{elapsed * 1000:>10.1f}{peak:>10.1f}")
    for name, make in POLICY_CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "hostile.yaml").write_text(make())
            elapsed, peak, refused, message = _run(MEASURE, tmp)
        wrong += not refused
        print(f"{name:<48}{elapsed * 1000:>10.1f}{peak:>10.1f}  {message[:90]}")
    elapsed, peak, refused, message = _run(TICKET, str(ROOT / "policies"))
    wrong += not refused
    print(f"{'ticket with 50,000 unknown fields':<48}{elapsed * 1000:>10.1f}{peak:>10.1f}  {message[:90]}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
