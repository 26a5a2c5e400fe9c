"""BENCHMARKS.md's sections: a benchmark run alone replaces its own section and keeps the others."""

from __future__ import annotations

from pathlib import Path


def section_of(text: str, heading: str) -> str:
    """The section under `heading` (a `## ` line) up to the next `## `, or "" if there is none."""
    start = text.find(f"\n{heading}\n")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 1)
    return text[start + 1 : end + 1 if end >= 0 else None]


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace the section under `heading` in the file at `path`, or add it at the end."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    old = section_of(text, heading)
    if not old:
        text = text.rstrip("\n") + "\n\n" + section
    elif text.endswith(old):
        text = text.removesuffix(old) + section
    else:  # a blank line before the next section
        text = text.replace(old, section.rstrip("\n") + "\n\n", 1)
    path.write_text(text, encoding="utf-8")


Targets = dict[tuple[str, str], tuple[float, str]]


def verdict(targets: Targets, section: str, key: str, value: float) -> str:
    """`target ≤ 20: met` (or NOT met) for a measure with a target, else ""."""
    target = targets.get((section, key))
    if target is None:
        return ""
    limit, sign = target
    met = value <= limit if sign == "≤" else value >= limit
    return f"target {sign} {limit:g}: {'met' if met else 'NOT met'}"


def rows(results: dict[str, dict[str, float]], targets: Targets) -> list[str]:
    """One table row per measure: benchmark, measure, value, target."""
    return [
        f"| {section} | {key} | {value:,.3f} | {verdict(targets, section, key, value)} |"
        for section, values in results.items()
        for key, value in values.items()
    ]
