"""`zhongcao import PATH`: load the demo content format, check it, and upsert it through the domain services."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from zhongcao.catalog.services import DEFAULT_COMMISSION_BOUNDS
from zhongcao.importer.apply import Applier
from zhongcao.importer.fields import Problem
from zhongcao.importer.loader import load_content
from zhongcao.importer.report import ImportReport

__all__ = ["ImportReport", "Problem", "import_path"]


def import_path(
    session: Session,
    path: str | Path,
    *,
    data_dir: str | Path,
    commission_bounds: tuple[int, int] = DEFAULT_COMMISSION_BOUNDS,
) -> ImportReport:
    """Import the content folder at `path`: categories, accounts and shops, products, then articles.

    Idempotent: rows are matched by slug or handle and written only when the file differs. A file with
    any problem is skipped whole and reported by name and field; the other files still import.
    """
    report = ImportReport()
    root = Path(path)
    if not root.is_dir():
        report.problems.append(Problem(str(path), None, "is not a folder: pass the content folder (e.g. content/)"))
        return report
    content = load_content(root)
    report.problems.extend(content.problems)
    Applier(session, content, report, data_dir=Path(data_dir), commission_bounds=commission_bounds).run()
    if session.in_transaction():
        # Ends the read-only transaction the comparisons opened (on SQLite it would pin an old snapshot).
        session.commit()
    return report
