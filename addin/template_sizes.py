"""How many rows the generated templates offer to fill, by default. Kept apart from template_spec so
that the `dtfund` command can show them without loading the rules (and pandas with them)."""

# The application template's 申报表. About 452 pilot enterprises share 13 submitting units (facts.md), so 200
# rows hold any unit's list with room to spare (more with `--rows`); and LibreOffice, which prints every row
# holding a formula (it ignores the formula print area Excel and WPS honour), then prints a workbook on
# 12 A4 pages (issue 20).
DEFAULT_ROWS = 200
AWARDS_DEFAULT_ROWS = 200  # each sheet of the awards template
MAX_ROWS = 1_000_000  # the most rows `dtfund template application --rows` offers
AWARDS_MAX_ROWS = 100_000  # the most rows `dtfund template awards --rows` offers, per sheet
