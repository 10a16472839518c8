"""How many rows the generated templates offer to fill, by default. Kept apart from template_spec so
that the `dtfund` command can show them without loading the rules (and pandas with them)."""

DEFAULT_ROWS = 2000  # the application template's 申报表
AWARDS_DEFAULT_ROWS = 200  # each sheet of the awards template
MAX_ROWS = 1_000_000  # the most rows `dtfund template application --rows` offers
AWARDS_MAX_ROWS = 100_000  # the most rows `dtfund template awards --rows` offers, per sheet
