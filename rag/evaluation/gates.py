"""Quality gates: ``--min recall@5=0.9`` / ``--max false_abstention_rate=0.1`` checked against
the aggregates; a failed bar makes ``ragqa eval`` exit with status 1."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gate:
    metric: str
    bound: float
    kind: str  # "min" (value must be >= bound) or "max" (value must be <= bound)


def parse_gates(specs, kind: str, valid) -> list[Gate]:
    """``parse_gates(["recall@5=0.9"], "min", names)``; ``ValueError`` naming a bad spec or metric."""
    gates = []
    valid = list(valid)
    for spec in specs or ():
        name, sep, raw = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--{kind} expects METRIC=VALUE, e.g. recall@5=0.9. Currently, it is {spec!r}")
        try:
            bound = float(raw)
        except ValueError:
            raise ValueError(f"--{kind} {spec!r}: {raw!r} is not a number") from None
        if name not in valid:
            raise ValueError(f"--{kind}: unknown metric {name!r}. Valid metrics: {', '.join(valid)}")
        gates.append(Gate(name, bound, kind))
    return gates


def check(gates, values: dict) -> list[str]:
    """One "FAIL: ..." message per gate not met (an undefined metric fails too)."""
    failures = []
    for g in gates:
        v = values.get(g.metric)
        if v is None:
            failures.append(f"FAIL: {g.metric} is undefined for this gold set (nothing to compute it on)")
        elif g.kind == "min" and v < g.bound:
            failures.append(f"FAIL: {g.metric} = {v:.3f} < {g.bound:.3f}")
        elif g.kind == "max" and v > g.bound:
            failures.append(f"FAIL: {g.metric} = {v:.3f} > {g.bound:.3f}")
    return failures
