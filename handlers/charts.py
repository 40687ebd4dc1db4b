"""PNG charts for credit replies (matplotlib, Agg), with a CJK font found by path so labels never show tofu."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
FONT_PATTERNS = ("*wqy*.tt[cf]", "*NotoSansCJK*.tt[cf]", "*NotoSansSC*.[ot]tf", "*SourceHanSans*.[ot]t[cf]")
FONT_HINT = "apt-get install fonts-wqy-microhei (or fonts-noto-cjk)"
_lock = threading.Lock()


class ChartFontError(RuntimeError):
    """No CJK font is installed, so Chinese labels cannot be drawn."""


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """The first CJK font file on this machine; raises ChartFontError with the install hint if none."""
    for candidate in FONT_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    for root in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts"):
        if root.is_dir():
            for pattern in FONT_PATTERNS:
                found = sorted(root.rglob(pattern))
                if found:
                    return found[0]
    raise ChartFontError(f"no CJK font found for chart labels: {FONT_HINT}")


@lru_cache(maxsize=1)
def _font_name() -> str:
    from matplotlib import font_manager

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, ylabel: str) -> bytes:
    """A bar chart as PNG bytes, every text in the CJK font."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    with _lock:
        family = _font_name()
        figure = Figure(figsize=(8, 4.2), dpi=100)
        axes = figure.subplots()
        bars = axes.bar(list(labels), list(values), color="#c0392b")
        axes.set_title(title, fontfamily=family, fontsize=14)
        axes.set_ylabel(ylabel, fontfamily=family)
        for label in axes.get_xticklabels():
            label.set_fontfamily(family)
        axes.bar_label(bars, labels=[f"{v:g}" if v else "" for v in values], fontfamily=family, fontsize=9)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
