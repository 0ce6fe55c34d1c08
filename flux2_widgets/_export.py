"""Rows out as CSV or a pandas DataFrame, for comparisons and cost tables alike."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

__all__ = ["require_pandas", "write_csv"]


def require_pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError("to_pandas() needs pandas: pip install pandas "
                          "(or pip install 'flux2-widgets[pandas]'); rows() and to_csv() work without it"
                          ) from None
    return pandas


def write_csv(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names)
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path
