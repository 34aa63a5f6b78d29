"""What a validation found: problems grouped by kind (file, field, problem), each with a count, a few example
records and the fix; fatal ones are errors, the rest warnings; and a summary of the data."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sg2im.atomic import atomic_write_json

EXAMPLES = 5


@dataclass
class Problem:
    level: str  # error (fatal: nothing is written into the pipeline's layout) | warning (counted, skipped)
    file: str
    field: str
    problem: str
    fix: str = ""
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def line(self) -> str:
        where = f"{self.file}" + (f" [{self.field}]" if self.field else "")
        shown = "; ".join(self.examples)
        more = f" (and {self.count - len(self.examples)} more)" if self.count > len(self.examples) else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.level}: {where}: {self.count} x {self.problem}: {shown}{more}.{fix}"


@dataclass
class Report:
    format: str
    root: str
    problems: dict[tuple[str, str, str], Problem] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)  # a few images: path, objects (name, x, y, w, h), relationships

    def sample(self, image: Path, objects: list[tuple], relationships: list[tuple], wanted: int = 4) -> None:
        """Keep an image with two or more objects as a sample for the dataset card (the first ``wanted``)."""
        if len(self.samples) < wanted and len(objects) >= 2 and image.is_file():
            self.samples.append({"image": str(image), "objects": objects, "relationships": relationships})

    def add(self, level: str, file: str | Path, field_: str, problem: str, record: str, fix: str = "") -> None:
        """One finding about ``record`` (e.g. ``annotation id 17``); grouped with its kind."""
        key = (str(file), field_, problem)
        found = self.problems.setdefault(key, Problem(level, str(file), field_, problem, fix))
        found.count += 1
        if len(found.examples) < EXAMPLES:
            found.examples.append(record)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems.values() if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems.values() if p.level == "warning"]

    def lines(self) -> list[str]:
        s = self.summary
        out = [f"validation of {self.root} ({self.format} format): {len(self.errors)} error kinds, "
               f"{len(self.warnings)} warning kinds"]
        out += [p.line() for p in self.errors + self.warnings]
        for split, info in (s.get("splits") or {}).items():
            out.append(f"{split}: {info['images']} images, {info['objects']} objects "
                       f"({info['objects_per_image_mean']:.1f} per image, max {info['objects_per_image_max']})")
        if s.get("categories"):
            top = ", ".join(f"{n} {c}" for n, c in list(s["categories"].items())[:12])
            out.append(f"categories ({len(s['categories'])}): {top}{' ...' if len(s['categories']) > 12 else ''}")
        if s.get("predicates"):
            top = ", ".join(f"{n} {c}" for n, c in list(s["predicates"].items())[:12])
            out.append(f"predicates ({len(s['predicates'])}): {top}{' ...' if len(s['predicates']) > 12 else ''}")
        elif s.get("predicates_note"):
            out.append(f"predicates: {s['predicates_note']}")
        if s.get("surviving"):
            out.append("surviving the filters of the current parameters: "
                       + ", ".join(f"{k} {v} images" for k, v in s["surviving"].items()))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "root": self.root, "ok": not self.errors,
                "errors": [asdict(p) for p in self.errors], "warnings": [asdict(p) for p in self.warnings],
                "summary": self.summary, "samples": self.samples}

    def write(self, path: str | Path) -> Path:
        """The report as JSON."""
        return atomic_write_json(path, self.to_dict(), indent=2, default=str)


def load_json(path: Path, report: Report, what: str) -> Any:
    """The parsed file, or None with an error in ``report`` (missing, not JSON)."""
    if not path.is_file():
        report.add("error", path, "", f"{what} is missing", str(path), f"put {path.name} there (see the README, "
                   "'Your own data', for the layout)")
        return None
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        report.add("error", path, "", "not valid JSON", str(exc)[:120], "the file is truncated or not JSON: "
                   "export it again")
        return None
