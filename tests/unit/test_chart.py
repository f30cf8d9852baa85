"""The bulletin chart: real rendering with a CJK font (no missing glyphs), and the text-only
fallback when the machine has none.

The rendering tests need a CJK font: `.ci/fonts.sh` installs one. Without it they are skipped,
unless LUOSHI_REQUIRE_CJK_FONT or CI is set: there a missing font is a failure.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from bot.adapters import chart
from bot.adapters.chart import ChartRow, find_cjk_font, render_chart
from tests.conftest import ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEST_STRING = "县教育局按时完成率"
TITLE = "2026年12月上旬 各单位按时完成率与逾期任务数"
UNITS = [
    "县教育局",
    "县财政局",
    "县发展和改革局",
    "县人力资源和社会保障局",
    "县自然资源局",
    "县生态环境分局",
    "县住房和城乡建设局",
    "县交通运输局",
    "县水利局",
    "县农业农村局",
    "县卫生健康局",
    "县市场监督管理局",
]
NO_FONT_REASON = (
    "no CJK font on this machine: run .ci/fonts.sh as root (installs fonts-wqy-microhei)"
)


def rows(count: int) -> list[ChartRow]:
    """`count` units with varied rates (every seventh without a rate) and overdue counts."""
    return [
        ChartRow(
            unit=UNITS[i % len(UNITS)] + (str(i) if i >= len(UNITS) else ""),
            on_time_rate=None if i % 7 == 3 else (i * 37 % 101) / 100,
            overdue=i * 5 % 13,
        )
        for i in range(count)
    ]


def cmap_covers(path: Path, text: str) -> bool:
    """Whether some face of the font file maps every character of `text` (checked here with
    fontTools, independently of the module)."""
    from fontTools.ttLib import TTCollection, TTFont

    if path.suffix.lower() in (".ttc", ".otc"):
        fonts = list(TTCollection(str(path), lazy=True).fonts)
    else:
        fonts = [TTFont(str(path), lazy=True)]
    return any(all(ord(char) in (font.getBestCmap() or {}) for char in text) for font in fonts)


@pytest.fixture
def cjk_font() -> Path:
    font = find_cjk_font()
    if font is None:
        if os.environ.get("LUOSHI_REQUIRE_CJK_FONT") or os.environ.get("CI"):
            pytest.fail(NO_FONT_REASON)
        pytest.skip(NO_FONT_REASON)
    return font


@pytest.fixture
def fresh_warning_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget whether the no-font warning was logged (it is logged once per process)."""
    monkeypatch.setattr(chart, "_no_font_warned", False)


def render_checked(title: str, data: list[ChartRow], **kwargs: object) -> tuple[bytes, list[str]]:
    """Render with every warning recorded; return the PNG and the glyph warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_chart(title, data, **kwargs)  # type: ignore[arg-type]
    glyph = [
        str(w.message)
        for w in caught
        if "missing from font" in str(w.message) or "Glyph" in str(w.message)
    ]
    assert png is not None
    return png, glyph


def image_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.verify()
        return image.size


# --- with a CJK font --------------------------------------------------------------------------


def test_found_font_covers_chinese(cjk_font: Path) -> None:
    assert cjk_font.is_file()
    assert cmap_covers(cjk_font, TEST_STRING)
    assert cmap_covers(cjk_font, chart.COVERAGE_SAMPLE)
    assert find_cjk_font() == cjk_font  # cached
    assert find_cjk_font.cache_info().hits >= 1


def test_renders_png_without_missing_glyphs(
    cjk_font: Path, caplog: pytest.LogCaptureFixture
) -> None:
    png, glyph_warnings = render_checked(TITLE, rows(12))
    assert png.startswith(PNG_SIGNATURE)
    assert glyph_warnings == []
    assert not [r for r in caplog.records if "missing from font" in r.getMessage()]
    width, height = image_size(png)
    assert width > height > 300


def test_fifty_units_render_and_widen_the_figure(cjk_font: Path) -> None:
    png, glyph_warnings = render_checked(TITLE, rows(50))
    assert png.startswith(PNG_SIGNATURE)
    assert glyph_warnings == []
    assert image_size(png)[0] > image_size(render_checked(TITLE, rows(10))[0])[0] * 1.5


def test_sixty_units_with_long_names(cjk_font: Path) -> None:
    data = [ChartRow(f"县人力资源和社会保障局第{i}分局", 0.5, i) for i in range(60)]
    png, glyph_warnings = render_checked(TITLE, data)
    assert png.startswith(PNG_SIGNATURE)
    assert glyph_warnings == []


@pytest.mark.parametrize("count", [1, 5])
def test_few_units(cjk_font: Path, count: int) -> None:
    png, glyph_warnings = render_checked(TITLE, rows(count))
    assert png.startswith(PNG_SIGNATURE)
    assert glyph_warnings == []


def test_none_rates_and_zero_counts(cjk_font: Path) -> None:
    data = [ChartRow(unit, None, 0) for unit in UNITS[:4]]
    data.append(ChartRow("县统计局", 1.0, 0))
    png, glyph_warnings = render_checked(TITLE, data)
    assert png.startswith(PNG_SIGNATURE)
    assert glyph_warnings == []


def test_explicit_font_argument(cjk_font: Path) -> None:
    png, glyph_warnings = render_checked(TITLE, rows(4), font=cjk_font)
    assert png.startswith(PNG_SIGNATURE)
    assert glyph_warnings == []


def test_glyph_warnings_are_detected_with_a_latin_font(caplog: pytest.LogCaptureFixture) -> None:
    """The negative control: with matplotlib's own DejaVu Sans (no Chinese) the missing-glyph
    warnings reach the caller and the log, so the checks above are not vacuous."""
    import matplotlib

    dejavu = Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
    with caplog.at_level(logging.WARNING, logger=chart.__name__):
        _png, glyph_warnings = render_checked(TITLE, rows(3), font=dejavu)
    assert glyph_warnings
    assert any("missing from font" in r.getMessage() for r in caplog.records)


# --- without a CJK font -----------------------------------------------------------------------


def test_no_font_means_no_chart_and_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fresh_warning_state: None
) -> None:
    monkeypatch.setattr(chart, "find_cjk_font", lambda: None)
    with caplog.at_level(logging.WARNING, logger=chart.__name__):
        assert render_chart(TITLE, rows(5)) is None
        assert render_chart(TITLE, rows(8)) is None
    messages = [r.getMessage() for r in caplog.records if r.name == chart.__name__]
    assert messages == [chart.NO_FONT_WARNING]
    assert "no CJK font found" in messages[0]
    assert "fonts-wqy-microhei" in messages[0]


def test_no_units_means_no_chart_and_no_font_search(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fresh_warning_state: None
) -> None:
    def fail() -> Path | None:
        raise AssertionError("no font search for an empty chart")

    monkeypatch.setattr(chart, "find_cjk_font", fail)
    with caplog.at_level(logging.WARNING, logger=chart.__name__):
        assert render_chart(TITLE, []) is None
    assert caplog.records == []


def test_module_import_does_not_load_matplotlib() -> None:
    code = "import sys, bot.adapters.chart; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert result.stdout.strip() == "False"


# --- pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "overdue"), [(-0.1, 0), (1.01, 0), (float("nan"), 0), (0.5, -1)])
def test_chart_row_rejects_impossible_values(rate: float, overdue: int) -> None:
    with pytest.raises(ValueError):
        ChartRow("县教育局", rate, overdue)


def test_chart_row_accepts_bounds() -> None:
    assert ChartRow("县教育局", 0.0, 0).on_time_rate == 0.0
    assert ChartRow("县教育局", 1.0, 3).overdue == 3
    assert ChartRow("县教育局", None, 0).on_time_rate is None


def test_font_preference_order() -> None:
    rank = chart._rank
    assert rank("NotoSansCJK-Regular", "Noto Sans CJK SC") == 0
    assert rank("SourceHanSansSC-Regular", "") == 0
    assert rank("wqy-microhei", "WenQuanYi Micro Hei") == 1
    assert rank("wqy-zenhei", "") == 2
    assert rank("DroidSansFallbackFull", "") == 4
    assert rank("NotoSerifCJK-Regular", "") == 5
    assert rank("uming", "AR PL UMing CN") == 6
    assert rank("DejaVuSans", "DejaVu Sans") is None


def test_face_preference_in_collections() -> None:
    penalty = chart._variant_penalty
    assert penalty("Noto Sans CJK SC") < penalty("Noto Sans CJK JP")
    assert penalty("WenQuanYi Micro Hei") < penalty("WenQuanYi Micro Hei Mono")
    assert penalty("NotoSansCJK-Regular") < penalty("NotoSansCJK-Bold")
    assert penalty("NotoSansCJKsc-Regular") < penalty("NotoSansCJKjp-Regular")
    assert penalty("SourceHanSansSC-Regular") < penalty("SourceHanSansTC-Regular")
    assert penalty("AR PL UMing CN") < penalty("AR PL UMing TW")


def test_long_unit_names_are_shortened() -> None:
    assert chart._short_name("县教育局") == "县教育局"
    short = chart._short_name("县人力资源和社会保障局第一分局")
    assert len(short) == chart.MAX_NAME_CHARS
    assert short.endswith(chart.ELLIPSIS)
    assert chart._short_name(" 县 教育局\n") == "县 教育局"


def test_overdue_ticks_are_whole_numbers() -> None:
    assert chart._overdue_ticks(1) == [0, 1]
    assert chart._overdue_ticks(12) == [0, 3, 6, 9, 12]
    assert chart._overdue_ticks(101)[-1] >= 101
