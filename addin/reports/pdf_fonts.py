"""The fonts the 报送表 PDF embeds, and text set in them character by character.

A PDF that names a font without embedding it shows blanks wherever the reader lacks that font (a viewer
without Adobe's Chinese CMaps; poppler without its data package). So every font is embedded, as a
subset of the glyphs used. reportlab embeds TrueType-outline fonts (glyf), not CFF OpenType such as
Noto Sans CJK; the fonts are found on the system:
- Chinese: Droid Sans Fallback (Apache-2.0; Debian/Ubuntu package fonts-droid-fallback), or on Windows
  SimHei/SimSun, whose embedding permission reportlab checks when it loads them;
- Latin letters, digits, Arabic script (Uyghur): DejaVu Sans (Bitstream Vera licence, free to embed;
  fonts-dejavu-core), or on Windows Arial. Droid Sans Fallback has no Latin letters or digits.
Each run of characters is set in the first font that has them; a character neither has is shown as
[U+XXXX] and named in a warning, never dropped."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from addin.io.output import OutputError

CJK_FONT, LATIN_FONT = "dtfund-CJK", "dtfund-Latin"
_WINDOWS_FONTS = Path(os.environ.get("WINDIR", "C:/Windows")) / "Fonts"
CANDIDATES = {
    CJK_FONT: (
        Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
        Path("/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf"),
        _WINDOWS_FONTS / "simhei.ttf",
        _WINDOWS_FONTS / "simsun.ttc",
    ),
    LATIN_FONT: (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        _WINDOWS_FONTS / "arial.ttf",
    ),
}
MISSING_FONT = (
    "生成报送表 PDF 需要可以嵌入 PDF 的中文字体和西文字体，本机没有找到{which}。"
    "请安装后重试：Debian/Ubuntu 运行 sudo apt-get install fonts-droid-fallback fonts-dejavu-core；"
    "Windows 需要系统自带的黑体（simhei.ttf）和 Arial。"
)


def _load(name: str) -> TTFont:
    for path in CANDIDATES[name]:
        if path.is_file():
            try:
                return TTFont(name, str(path))
            except TTFError:
                continue  # not TrueType outlines, or its licence forbids embedding: try the next
    which = "中文字体（Droid Sans Fallback）" if name == CJK_FONT else "西文字体（DejaVu Sans）"
    raise OutputError(MISSING_FONT.format(which=which))


def register_fonts() -> None:
    """Register the embedded fonts with reportlab (once); a Chinese error naming what to install."""
    registered = pdfmetrics.getRegisteredFontNames()
    for name in (CJK_FONT, LATIN_FONT):
        if name not in registered:
            pdfmetrics.registerFont(_load(name))


def _has(font: str, character: str) -> bool:
    return ord(character) in pdfmetrics.getFont(font).face.charToGlyph


@cache
def _font_of(character: str) -> str | None:
    """The font a character is set in: Latin first for ASCII, the Chinese font first otherwise."""
    order = (LATIN_FONT, CJK_FONT) if character.isascii() else (CJK_FONT, LATIN_FONT)
    return next((font for font in order if _has(font, character)), None)


@dataclass
class Runs:
    """Text cut into runs of one font each, and the characters no font has (with where they stand)."""

    missing: dict[str, str] = field(default_factory=dict)  # character -> the first text it is in
    # texts in a script written right to left with joined letters (Uyghur, in Arabic letters), which
    # reportlab draws letter by letter, left to right: the clerk is told to read the workbook instead
    right_to_left: dict[str, None] = field(default_factory=dict)
    _split: dict[str, list[tuple[str, str]]] = field(default_factory=dict, repr=False)

    def split(self, text: str) -> list[tuple[str, str]]:
        """(font, text) runs; a character no embedded font has becomes [U+XXXX] (and is recorded).
        A text met again (a form's levels and marks) is split once: do not change what is returned."""
        if text in self._split:
            return self._split[text]
        runs = self._split[text] = self._runs(text)
        return runs

    def _runs(self, text: str) -> list[tuple[str, str]]:
        if _RIGHT_TO_LEFT.search(text):
            self.right_to_left.setdefault(text, None)
        runs: list[tuple[str, str]] = []
        for character in text:
            if character in "\n\r\t":
                character = " "
            font = _font_of(character)
            if font is None:
                self.missing.setdefault(character, text)
                font, character = LATIN_FONT, f"[U+{ord(character):04X}]"
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + character)
            else:
                runs.append((font, character))
        return runs

    def single_font(self, text: str) -> str | None:
        """The one font that has every character of `text`, if one does (the text can then be drawn as
        a plain string in that font, much faster than a Paragraph)."""
        runs = self.split(text)
        return runs[0][0] if len(runs) == 1 and not any(c in self.missing for c in text) else None

    def markup(self, text: str, keep_spaces: bool = False) -> str:
        """Paragraph markup setting each run in its font; the text itself escaped (never markup)."""
        parts = []
        for font, run in self.split(text):
            shown = escape(run)
            if keep_spaces:
                shown = shown.replace(" ", "&nbsp;")
            parts.append(f'<font name="{font}">{shown}</font>')
        return "".join(parts)

    def width(self, text: str, size: float) -> float:
        return sum(pdfmetrics.stringWidth(run, font, size) for font, run in self.split(text))

    def draw(self, canvas: object, x: float, y: float, text: str, size: float, right: bool = False) -> None:
        """Draw `text` on a reportlab canvas at (x, y), run by run; `right`: x is where it ends."""
        if right:
            x -= self.width(text, size)
        line = canvas.beginText(x, y)  # type: ignore[attr-defined]
        for font, run in self.split(text):  # one line of text: read back as one line
            line.setFont(font, size)
            line.textOut(run)
        canvas.drawText(line)  # type: ignore[attr-defined]

    def warnings(self) -> list[str]:
        """One Chinese sentence per character no embedded font has, naming a text it is in; and one for
        the texts written right to left, naming the first of them."""
        found = [
            f"报送表中的字符“{character}”（U+{ord(character):04X}）不在可嵌入的字体中，PDF 中以 "
            f"[U+{ord(character):04X}] 代替，见“{_short(text)}”。请核对打印件，必要时手写更正。"
            for character, text in self.missing.items()
        ]
        if self.right_to_left:
            texts = list(self.right_to_left)
            more = f"等 {len(texts)} 处" if len(texts) > RIGHT_TO_LEFT_NAMED else ""
            named = "、".join(f"“{_short(t)}”" for t in texts[:RIGHT_TO_LEFT_NAMED])
            found.append(
                f"报送表中的{named}{more}含维吾尔文等从右向左书写、字母相连的文字，PDF 中这些字母逐个从左向右排列，"
                "不能照原样阅读。请核对打印件，以申报表中的原文为准，必要时手写注明。"
            )
        return found


# Arabic letters and their presentation forms (Uyghur, Kazakh in Arabic script, …) and Hebrew.
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
RIGHT_TO_LEFT_NAMED = 3  # texts named in the warning; the rest counted


def _short(text: str, length: int = 30) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
