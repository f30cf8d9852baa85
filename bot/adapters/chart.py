"""The bulletin (工作通报) chart: per-unit on-time rate and overdue count, as PNG bytes.

render_chart draws one bar pair per unit: the on-time rate (left axis, %) and the number of
overdue tasks (right axis), with the unit names along the x axis and a Chinese title. It returns
None when there is nothing to draw (no units) or when the machine has no CJK font: matplotlib's
bundled DejaVu Sans has no Chinese glyphs and would draw boxes, so the caller sends the text
bulletin only (a warning is logged once per process). `.ci/fonts.sh` installs a font.

find_cjk_font looks for a font file whose character map really covers Chinese text: known
families (Noto Sans CJK, Source Han Sans, WenQuanYi Micro Hei / Zen Hei, Droid Sans Fallback,
Noto Serif CJK, AR PL ...) from matplotlib's font list, the usual font directories and
`fc-list :lang=zh`, checked with fontTools. In a font collection (.ttc) the Simplified Chinese
face is preferred (Noto Sans CJK's first face is the Japanese one).

matplotlib is imported lazily (the bot imports this module at start-up) and used without pyplot:
a Figure with its own Agg canvas, no global state.
"""

import functools
import io
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RATE_LABEL = "按时完成率"
OVERDUE_LABEL = "逾期任务数"
NO_RATE = "—"  # shown above a unit that had no task due (rate None)
ELLIPSIS = "…"
MAX_NAME_CHARS = 12  # longer unit names are shortened with an ellipsis
# A chosen font must cover this: the test string, the fixed labels and the punctuation used.
COVERAGE_SAMPLE = (
    "县教育局按时完成率" + RATE_LABEL + OVERDUE_LABEL + "年月日上中下旬截至（）%" + NO_RATE
    + ELLIPSIS
)
NO_FONT_WARNING = (
    "no CJK font found: bulletins are sent as text only; install fonts-noto-cjk or "
    "fonts-wqy-microhei"
)

RATE_COLOR = "#3a6fb0"
OVERDUE_COLOR = "#d9534f"
NO_RATE_COLOR = "#888888"
DPI = 120

_FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")
# Known CJK fonts by normalized file or family name (lowercase letters and digits only), best
# first: sans before serif, full Simplified Chinese fonts before fallbacks.
_KNOWN_FONTS: tuple[tuple[str, ...], ...] = (
    ("notosanscjk", "notosanssc", "sourcehansans"),
    ("wqymicrohei", "wenquanyimicrohei"),
    ("wqyzenhei", "wenquanyizenhei"),
    ("msyh", "microsoftyahei", "pingfang", "hiraginosansgb", "stheiti", "heitisc", "simhei"),
    ("droidsansfallback",),
    ("notoserifcjk", "notoserifsc", "sourcehanserif", "simsun", "songti"),
    ("uming", "ukai", "arpl"),
)
_UNKNOWN_RANK = len(_KNOWN_FONTS)  # fonts reported by `fc-list :lang=zh` only
_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/System/Library/Fonts",
    "/Library/Fonts",
    "~/Library/Fonts",
    "C:/Windows/Fonts",
)
_SIMPLIFIED = re.compile(
    r"(?:^|[^a-z])(?:sc|cn|gb|hans)(?:[^a-z]|$)|(?:cjk|sans|serif)(?:sc|cn)|simplified|简",
    re.IGNORECASE,
)
_NOT_REGULAR = re.compile(
    r"bold|black|heavy|light|thin|medium|semi|demi|extra|italic|mono", re.IGNORECASE
)

_warn_lock = threading.Lock()
_no_font_warned = False


@dataclass(frozen=True)
class ChartRow:
    """One unit of the bulletin: its on-time rate (0..1, None when nothing was due) and the
    number of its overdue tasks."""

    unit: str
    on_time_rate: float | None
    overdue: int

    def __post_init__(self) -> None:
        rate = self.on_time_rate
        if rate is not None and (math.isnan(rate) or not 0.0 <= rate <= 1.0):
            raise ValueError(f"on_time_rate must be within 0..1 or None, not {rate!r}")
        if self.overdue < 0:
            raise ValueError(f"overdue must not be negative, not {self.overdue!r}")


# --- finding a font -------------------------------------------------------------------------


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _rank(*names: str) -> int | None:
    """The preference rank of a known CJK font, or None for any other font."""
    normalized = [_normalized(name) for name in names]
    for rank, needles in enumerate(_KNOWN_FONTS):
        if any(needle in name for needle in needles for name in normalized):
            return rank
    return None


def _variant_penalty(name: str) -> tuple[int, int]:
    """Regular weights before bold or mono ones; Simplified Chinese variants first."""
    return (1 if _NOT_REGULAR.search(name) else 0, 0 if _SIMPLIFIED.search(name) else 1)


def _matplotlib_candidates() -> Iterator[tuple[Path, str]]:
    try:
        from matplotlib import font_manager
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        return
    for entry in font_manager.fontManager.ttflist:
        yield Path(entry.fname), entry.name


def _directory_candidates() -> Iterator[tuple[Path, str]]:
    for directory in _FONT_DIRS:
        root = Path(directory).expanduser()
        if not root.is_dir():
            continue
        for dirpath, _dirnames, filenames in os.walk(root):
            for filename in filenames:
                if filename.lower().endswith(_FONT_SUFFIXES):
                    yield Path(dirpath, filename), ""


def _fontconfig_candidates() -> Iterator[tuple[Path, str]]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return
    try:
        result = subprocess.run(
            [fc_list, ":lang=zh", "file", "family"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return
    for line in result.stdout.splitlines():
        # "/usr/share/fonts/x.ttc: Family,其他名称" (the family part is absent for some fonts)
        path, _sep, family = line.partition(": ")
        path = path.rstrip(":").strip()
        if path:
            yield Path(path), family


def _candidates() -> list[Path]:
    """Font files that may hold CJK glyphs, best first (the coverage is checked later)."""
    ranked: dict[Path, tuple[int, tuple[int, int], str]] = {}

    def consider(path: Path, family: str, rank: int | None) -> None:
        if rank is None or path.suffix.lower() not in _FONT_SUFFIXES:
            return
        key = (rank, _variant_penalty(f"{path.stem} {family}"), str(path))
        if path not in ranked or key < ranked[path]:
            ranked[path] = key

    for path, family in (*_matplotlib_candidates(), *_directory_candidates()):
        consider(path, family, _rank(path.stem, family))
    for path, family in _fontconfig_candidates():
        rank = _rank(path.stem, family)
        consider(path, family, _UNKNOWN_RANK if rank is None else rank)
    return sorted((path for path in ranked if path.is_file()), key=ranked.__getitem__)


def _covering_faces(path: Path, text: str) -> list[tuple[int, str]]:
    """The faces of a font file (index, family name) whose character map covers `text`."""
    from fontTools.ttLib import TTCollection, TTFont

    needed = {ord(char) for char in text}
    if path.suffix.lower() in (".ttc", ".otc"):
        collection = TTCollection(str(path), lazy=True)
        fonts = list(collection.fonts)
    else:
        collection = None
        fonts = [TTFont(str(path), lazy=True)]
    try:
        faces = []
        for index, font in enumerate(fonts):
            cmap = font.getBestCmap() or {}
            if needed.issubset(cmap):
                faces.append((index, font["name"].getDebugName(1) or ""))
        return faces
    finally:
        for font in fonts:
            font.close()
        if collection is not None:
            collection.close()


@functools.cache
def _face_index(path: Path) -> int | None:
    """The best face of `path` that covers COVERAGE_SAMPLE, or None when none does."""
    try:
        faces = _covering_faces(path, COVERAGE_SAMPLE)
    except Exception as exc:  # an unreadable or broken font file is just not a candidate
        log.debug("cannot read font %s: %s", path, exc)
        return None
    if not faces:
        return None
    return min(faces, key=lambda face: (_variant_penalty(face[1]), face[0]))[0]


@functools.cache
def find_cjk_font() -> Path | None:
    """A font file that covers Chinese text (COVERAGE_SAMPLE), or None; the answer is cached.

    Clear the cache with find_cjk_font.cache_clear() after installing a font."""
    for path in _candidates():
        if _face_index(path) is not None:
            log.debug("CJK font for charts: %s (face %s)", path, _face_index(path))
            return path
    return None


def _warn_no_font_once() -> None:
    global _no_font_warned
    with _warn_lock:
        if _no_font_warned:
            return
        _no_font_warned = True
    log.warning(NO_FONT_WARNING)


# --- drawing --------------------------------------------------------------------------------


def _short_name(unit: str) -> str:
    unit = " ".join(unit.split())
    if len(unit) <= MAX_NAME_CHARS:
        return unit
    return unit[: MAX_NAME_CHARS - 1] + ELLIPSIS


def _font_properties(path: Path, size: float) -> Any:
    from matplotlib import font_manager

    index = _face_index(path) or 0
    font_path_type = getattr(font_manager, "FontPath", None)  # face selection, matplotlib 3.11+
    fname: Any = font_path_type(str(path), index) if index and font_path_type else str(path)
    return font_manager.FontProperties(fname=fname, size=size)


def _overdue_ticks(top: int) -> list[int]:
    step = max(1, math.ceil(top / 5))
    return list(range(0, top + step, step))


def _text_em(text: str) -> float:
    """The approximate advance of `text` in ems: CJK characters take one em, others about 0.6."""
    return sum(1.0 if unicodedata.east_asian_width(char) in "WF" else 0.6 for char in text)


def _draw(title: str, rows: Sequence[ChartRow], font: Path) -> bytes:
    """Draw the chart. The layout is computed here (in inches) from the text sizes rather than by
    matplotlib's constrained layout, which would measure every label in an extra drawing pass."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(rows)
    names = [_short_name(row.unit) for row in rows]
    rotate_values = n > 12
    name_size = 10.0 if n <= 20 else 9.0 if n <= 40 else 8.0
    value_size = 7.5 if rotate_values else 8.5
    slot = 0.36 if rotate_values else 0.66  # inches per unit
    plot_width = min(max(slot * (n + 0.2), 5.6), 21.0)
    shown = max(n + 0.2, plot_width / 1.1)  # few units: at most 1.1 inches each, centred
    slot = plot_width / shown
    name_inches = max(_text_em(name) for name in names) * name_size / 72
    if name_inches <= slot * 0.92:
        rotation = 0
        names_height = name_size / 72 * 1.25
    elif n <= 15:
        rotation = 45
        names_height = (name_inches + name_size / 72) * math.sqrt(0.5)
    else:
        rotation = 90
        names_height = name_inches + 0.05
    # Margins in inches: title and legend above, tick labels and axis labels at the sides.
    top, right, bottom = 0.8, 0.8, 0.3 + names_height
    left = 0.85
    if rotation == 45:  # the first name reaches left of the axes
        first = _text_em(names[0]) * name_size / 72 * math.sqrt(0.5)
        left = max(left, first - 0.6 * slot + 0.15)
    plot_height = 3.8
    width, height = left + plot_width + right, top + plot_height + bottom
    title_size = max(9.0, min(15.0, width * 72 * 0.95 / max(_text_em(title), 1.0)))

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.subplots_adjust(
        left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height
    )
    font_axis = _font_properties(font, 10.0)
    figure.suptitle(
        title, y=1 - 0.12 / height, va="top", fontproperties=_font_properties(font, title_size)
    )
    rate_axes = figure.add_subplot()
    overdue_axes = rate_axes.twinx()

    positions = list(range(n))
    bar_width = 0.38
    rates = [0.0 if row.on_time_rate is None else row.on_time_rate * 100 for row in rows]
    overdue = [row.overdue for row in rows]
    rate_bars = rate_axes.bar(
        [x - bar_width / 2 for x in positions], rates, bar_width, color=RATE_COLOR, zorder=2
    )
    overdue_bars = overdue_axes.bar(
        [x + bar_width / 2 for x in positions], overdue, bar_width, color=OVERDUE_COLOR, zorder=2
    )

    font_values = _font_properties(font, value_size)

    def label(axes: Any, bar: Any, text: str, color: str, rotate: bool) -> None:
        axes.annotate(
            text,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 2),
            textcoords="offset points",
            color=color,
            fontproperties=font_values,
            ha="center",
            va="bottom",
            rotation=90 if rotate else 0,
            annotation_clip=False,
        )

    for bar, row in zip(rate_bars, rows, strict=True):
        if row.on_time_rate is None:  # a dash reads as a bar when turned, so it is never turned
            label(rate_axes, bar, NO_RATE, NO_RATE_COLOR, rotate=False)
        else:
            label(rate_axes, bar, f"{row.on_time_rate * 100:.0f}%", "#333333", rotate_values)
    for bar, count in zip(overdue_bars, overdue, strict=True):
        label(overdue_axes, bar, str(count), OVERDUE_COLOR if count else "#333333", rotate_values)

    # Headroom above the highest bars for their value labels (taller when they are turned).
    headroom = 1.2 if rotate_values else 1.1
    pad = (shown - n - 0.2) / 2
    rate_axes.set_xlim(-0.6 - pad, n - 0.4 + pad)
    rate_axes.set_ylim(0, 100 * headroom)
    rate_ticks = list(range(0, 101, 20))
    rate_axes.set_yticks(rate_ticks, [f"{tick}%" for tick in rate_ticks], fontproperties=font_axis)
    top_count = max(1, *overdue)
    ticks = _overdue_ticks(top_count)
    overdue_axes.set_ylim(0, max(ticks[-1], top_count) * headroom)
    overdue_axes.set_yticks(ticks, [str(tick) for tick in ticks], fontproperties=font_axis)
    rate_axes.set_xticks(
        positions,
        names,
        fontproperties=_font_properties(font, name_size),
        rotation=rotation,
        ha="right" if rotation == 45 else "center",
        rotation_mode="anchor" if rotation == 45 else "default",
    )
    rate_axes.set_ylabel(f"{RATE_LABEL}(%)", fontproperties=font_axis, color=RATE_COLOR)
    overdue_axes.set_ylabel(OVERDUE_LABEL, fontproperties=font_axis, color=OVERDUE_COLOR)
    rate_axes.yaxis.grid(True, color="#e2e2e2", zorder=0)
    rate_axes.set_axisbelow(True)
    for axes in (rate_axes, overdue_axes):
        axes.spines["top"].set_visible(False)
    rate_axes.legend(
        [rate_bars, overdue_bars],
        [RATE_LABEL, OVERDUE_LABEL],
        prop=font_axis,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        borderaxespad=0.2,
        ncol=2,
        frameon=False,
    )

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def render_chart(title: str, rows: Sequence[ChartRow], *, font: Path | None = None) -> bytes | None:
    """The bulletin chart as PNG bytes; None when there are no rows or no CJK font.

    `font` overrides the font search (a face covering Chinese is chosen in a collection). A
    missing-glyph warning from matplotlib (a character the font lacks) is logged and passed on.
    """
    if not rows:
        return None
    if font is None:
        font = find_cjk_font()
        if font is None:
            _warn_no_font_once()
            return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = _draw(title, rows, Path(font))
    for warning in caught:
        message = str(warning.message)
        if "missing from font" in message or message.startswith("Glyph"):
            log.warning("bulletin chart: %s", message)
        # Pass every warning on, so that callers (and tests) still see it.
        warnings.warn_explicit(
            warning.message,
            warning.category,
            warning.filename,
            warning.lineno,
            source=warning.source,
        )
    return png


if __name__ == "__main__":  # pragma: no cover - a manual check: python -m bot.adapters.chart
    sample = [ChartRow(f"县第{i}局", (i % 11) / 10 or None, i % 7) for i in range(1, 21)]
    data = render_chart("各单位按时完成率与逾期任务数", sample)
    print(find_cjk_font(), "no chart" if data is None else f"{len(data)} bytes")
    if data is not None and len(sys.argv) > 1:
        Path(sys.argv[1]).write_bytes(data)
