"""The templates' shared styles: number formats, fills, fonts, borders."""

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

MONEY_FORMAT = "#,##0.00"
RATIO_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"
COUNT_FORMAT = "0"
INPUT_FILL = PatternFill("solid", fgColor="DDEBF7")
COMPUTED_FILL = PatternFill("solid", fgColor="EDEDED")
ALERT_FILL = PatternFill("solid", fgColor="FFC7CE")
ALERT_FONT = Font(color="9C0006", bold=True)
BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center", horizontal="center")
TOP_WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
UNLOCKED = Protection(locked=False)
