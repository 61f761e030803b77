"""What an import did: created / updated / unchanged per kind, and every problem by file and field."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from zhongcao.importer.fields import Problem

KINDS = ("categories", "accounts", "shops", "products", "articles")
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class ImportReport:
    counts: dict[str, Counter] = field(default_factory=lambda: {kind: Counter() for kind in KINDS})
    images_generated: int = 0
    articles_published: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str, outcome: str) -> None:
        self.counts[kind][outcome] += 1

    def total(self, outcome: str) -> int:
        return sum(counter[outcome] for counter in self.counts.values())

    @property
    def changed(self) -> bool:
        return bool(self.total(CREATED) or self.total(UPDATED) or self.images_generated)

    def lines(self) -> list[str]:
        """Human-readable summary: one line per kind, then notes, then each problem."""
        lines = []
        for kind in KINDS:
            counter = self.counts[kind]
            line = f"{kind}: {counter[CREATED]} created, {counter[UPDATED]} updated, {counter[UNCHANGED]} unchanged"
            if kind == "products":
                line += f"; {self.images_generated} placeholder image(s) generated"
            if kind == "articles":
                line += f"; {self.articles_published} published"
            lines.append(line)
        lines.extend(self.notes)
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            lines.extend(f"  {problem}" for problem in self.problems)
        return lines
