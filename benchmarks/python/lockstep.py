"""Runs two benchmark processes in lockstep: each asks for a turn before every step (mae bench --turns, bench_step.py
--turns) and only one steps at a time; warm-up turns as they come, then the measured steps alternate, each side first
every other step. Both sides see the same machine from one step to the next, so the ratio of their step times drops
the drift between separate runs (what pairs.sh's interleaved processes suffer). Prints one JSON line: both sides'
lines and their step times in order as a_ms_in_order / b_ms_in_order, for pair_overhead.py.

    python3 lockstep.py --side NAME='COMMAND {turns}' --side NAME='COMMAND {turns}' [--timeout SECONDS] [--gap SECONDS]

{turns} in each command becomes the prefix of its pair of pipes."""
import argparse
import json
import os
import select
import subprocess
import tempfile
import time


class Side:
    def __init__(self, name, command, directory):
        self.name = name
        prefix = os.path.join(directory, name.replace("/", "_"))
        for end in (".from", ".to"):
            os.mkfifo(prefix + end)
        # read-write ends never block on open, and keep the pipes open if the process has not opened them yet
        self.requests = os.open(prefix + ".from", os.O_RDWR)
        self.turns = os.open(prefix + ".to", os.O_RDWR)
        self.out = tempfile.TemporaryFile(mode="w+")
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(command.replace("{turns}", prefix), shell=True, stdout=self.out, stderr=self.err)
        self.buffer = b""
        self.pending = None

    def request(self, timeout):
        """The side's next line ('warm', 'step' or 'end'), failing with its stderr if it dies or stalls."""
        waited = 0
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.requests], [], [], 1.0)
            if ready:
                self.buffer += os.read(self.requests, 64)
                continue
            waited += 1
            if self.proc.poll() is not None or waited > timeout:
                self.err.seek(0)
                raise SystemExit("lockstep: %s %s before asking for a turn:\n%s" % (
                    self.name, "exited (%s)" % self.proc.returncode if self.proc.poll() is not None else "stalled",
                    self.err.read()[-3000:]))
        line, self.buffer = self.buffer.split(b"\n", 1)
        self.pending = line.decode().strip()
        return self.pending

    def go(self, timeout, gap):
        os.write(self.turns, b"go\n")
        self.request(timeout)
        # let the threads that spin after a step (OpenBLAS's, OpenMP's) go to sleep before the other side steps
        time.sleep(gap)

    def result(self):
        if self.proc.wait() != 0:
            self.err.seek(0)
            raise SystemExit("lockstep: %s failed (%d):\n%s" % (self.name, self.proc.returncode, self.err.read()[-3000:]))
        self.out.seek(0)
        lines = [l for l in self.out.read().splitlines() if l.startswith("{")]
        if not lines:
            raise SystemExit("lockstep: %s printed no JSON line" % self.name)
        return json.loads(lines[-1])


def ms_in_order(line):
    return line.get("java_ms_in_order") or line.get("ms_in_order")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", action="append", required=True, help="NAME=COMMAND with {turns} for the pipes' prefix")
    ap.add_argument("--timeout", type=int, default=900, help="seconds a side may take for one step or its setting up")
    ap.add_argument("--gap", type=float, default=0.5, help="seconds of quiet after each step, before the next turn")
    a = ap.parse_args()
    if len(a.side) != 2 or any("=" not in s for s in a.side):
        raise SystemExit("lockstep: give two --side NAME=COMMAND")
    with tempfile.TemporaryDirectory(prefix="mae-lockstep-") as d:
        sides = [Side(*s.split("=", 1), d) for s in a.side]
        for s in sides:
            s.request(a.timeout)
        # warm-up (and JIT-settling) steps, one side at a time, until both wait for a measured step
        while any(s.pending == "warm" for s in sides):
            for s in sides:
                if s.pending == "warm":
                    s.go(a.timeout, a.gap)
        turn = 0
        while any(s.pending == "step" for s in sides):
            for s in (sides if turn % 2 == 0 else sides[::-1]):
                if s.pending == "step":
                    s.go(a.timeout, a.gap)
            turn += 1
        if any(s.pending != "end" for s in sides):
            raise SystemExit("lockstep: unexpected request %s" % [s.pending for s in sides])
        lines = [s.result() for s in sides]
    a_ms, b_ms = (ms_in_order(l) for l in lines)
    if not a_ms or not b_ms or len(a_ms) != len(b_ms):
        raise SystemExit("lockstep: the sides' step times do not pair up: %s" % lines)
    out = {"driver": "lockstep", "config": lines[0].get("config"), "a": sides[0].name, "b": sides[1].name,
           "a_median_ms": lines[0]["median_ms"], "b_median_ms": lines[1]["median_ms"],
           "a_ms_in_order": a_ms, "b_ms_in_order": b_ms, "lines": lines}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
