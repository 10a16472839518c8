"""The template's native Excel formulas: the same steps as schemas/calculation.py, written so that
Excel, WPS and LibreOffice compute every amount with no add-in. Every number is a named range on the
参数 sheet (generated from the policy), never a literal: each parameter's dated table, from-dates
(`P_…_FROM`) beside values (`P_…`), looked up by the row's key date."""

from __future__ import annotations

from schemas.calculation import CALCULATION_INPUTS, COST_ITEMS, SUBSIDY_PART_FIELDS
from schemas.fields import NO, field_by_id, input_fields, none_value
from schemas.policy import Policy


def parameter_name(parameter: str, key: str | None = None) -> str:
    """The defined name of a policy parameter's values on the 参数 sheet (one per dated value)."""
    return f"P_{parameter.upper()}" + (f"_{key.upper()}" if key else "")


def from_name(parameter: str, key: str | None = None) -> str:
    """The defined name of the from-dates beside a parameter's values."""
    return f"{parameter_name(parameter, key)}_FROM"


LEVELS_NAME = "P_ELIGIBLE_LEVELS"


def list_name(field_id: str) -> str:
    """The defined name of a choice field's list on the _lists sheet (its dropdown's source)."""
    return f"LIST_{field_id.upper()}"


def latest_value(policy: Policy, parameter: str, key: str | None = None) -> str:
    """A parameter's latest value (the last row of its dated table): for sheets whose rows carry no
    date, as Policy.value without a date."""
    values = parameter_name(parameter, key)
    return values if len(policy.parameter(parameter).values) == 1 else f"INDEX({values},ROWS({values}))"


def text_sensitive_inputs() -> list[str]:
    """The calculation's inputs that the formulas cannot compute when typed as text: amounts and dates."""
    return [name for name in CALCULATION_INPUTS if field_by_id()[name].kind in ("money", "date")]


class RowFormulas:
    """The formulas of one data row, given each field's column letter."""

    def __init__(self, letters: dict[str, str], policy: Policy) -> None:
        self.letters = letters
        self.policy = policy
        inputs = [f.id for f in input_fields()]
        self.first_input, self.last_input = letters[inputs[0]], letters[inputs[-1]]

    def ref(self, name: str, row: int) -> str:
        return f"${self.letters[name]}{row}"

    def cents(self, name: str, row: int, blank_as_zero: bool = False) -> str:
        """An amount the clerk typed, rounded half-up to the cent as the check takes it
        (schemas.money.as_money): float noise (=43282.07+56374.91+343.02) and sub-cent places alike."""
        ref = self.ref(name, row)
        return f"ROUND({f'N({ref})' if blank_as_zero else ref},2)"

    def readable(self, row: int) -> str:
        """No amount or date the calculation takes is text (a number or date typed as text, which the
        formulas cannot compute): the check then counts nothing for the row (NUMBER_STORED_AS_TEXT,
        DATE_STORED_AS_TEXT), and neither does the sheet."""
        return "NOT(OR(" + ",".join(f"ISTEXT({self.ref(name, row)})" for name in text_sensitive_inputs()) + "))"

    def _date_row(self, parameter: str, row: int, key: str | None = None) -> str:
        """The row of the parameter's dated table in force on the row's key date: the last from-date on
        or before it, the first for a blank or earlier date (as schemas.policy.Parameter.positions)."""
        if len(self.policy.parameter(parameter).values) == 1:
            return "1"
        date = self.ref(self.policy.parameter(parameter).applies_by, row)
        return f"IFERROR(MATCH({date},{from_name(parameter, key)},1),1)"

    def at(self, parameter: str, row: int, key: str | None = None) -> str:
        """The parameter's value in force on the row's key date (its one value when it has one)."""
        values = parameter_name(parameter, key)
        if len(self.policy.parameter(parameter).values) == 1:
            return values
        return f"INDEX({values},{self._date_row(parameter, row, key)})"

    def by_level(self, parameter: str, row: int) -> str:
        """The amount for the row's level in the parameter's table in force on its key date."""
        level = f"MATCH({self.ref('level', row)},{LEVELS_NAME},0)"
        return f"INDEX({parameter_name(parameter)},{self._date_row(parameter, row)},{level})"

    def _guard(self, row: int, expression: str) -> str:
        """Blank rows show blank computed cells."""
        return f'=IF(COUNTA(${self.first_input}{row}:${self.last_input}{row})=0,"",{expression})'

    def eligible(self, row: int) -> str:
        """第十条（一）1 level, 第十一条（一）2 contract window, 第九条 size class, 第十条（七） exclusions:
        each met only by a valid value (a blank or unlisted choice meets none), as schemas.calculation."""
        r = lambda name: self.ref(name, row)  # noqa: E731
        return (
            f"AND(ISNUMBER(MATCH({r('level')},{LEVELS_NAME},0)),{self.in_window(row)},"
            f"ISNUMBER(MATCH({r('size_class')},{list_name('size_class')},0)),"
            f'{r("negative_record")}="{none_value("negative_record")}",{r("little_giant")}="{NO}",'
            f"{self.readable(row)})"
        )

    def in_window(self, row: int) -> str:
        """The contract date (its day: a time typed with it does not count) within the window. (N(): a
        date typed as text is no date, and not an error that would spread over the row.)"""
        date = self.ref("contract_date", row)
        start, end = self.at("contract_window_start", row), self.at("contract_window_end", row)
        return f'ISNUMBER({date}),INT(N({date}))>={start},OR({end}="",INT(N({date}))<={end})'

    def items_total(self, row: int) -> str:
        """Σ of the supported cost items (schemas.calculation.COST_ITEMS), blanks as zero."""
        return "ROUND(" + "+".join(self.cents(name, row, blank_as_zero=True) for name in COST_ITEMS) + ",2)"

    def service_limit_exceeded(self, row: int) -> str:
        r = lambda name: self.ref(name, row)  # noqa: E731
        return (
            f"AND(ISNUMBER({r('service_total')}),"
            f"{r('service_total')}>{self.limit('service_fee_limit', row)})"
        )

    def integration_limit_exceeded(self, row: int) -> str:
        r = lambda name: self.ref(name, row)  # noqa: E731
        return (
            f"AND(ISNUMBER({r('integration')}),"
            f"{self.cents('integration', row)}>{self.limit('integration_fee_limit', row)})"
        )

    def limit(self, parameter: str, row: int) -> str:
        """A fee limit: the contract (at the cent) times the limit's rate, rounded to the cent."""
        return f"ROUND({self.cents('contract_total', row)}*{self.at(parameter, row)},2)"

    def for_row(self, row: int) -> dict[str, str]:
        r = lambda name: self.ref(name, row)  # noqa: E731
        eligible = self.eligible(row)
        deadline = self.at("progress_deadline", row)
        none_honor = none_value("honor")
        formulas = {
            "service_total": "ROUND("
            + "+".join(self.cents(name, row) for name in ("consulting", "integration", "other_service"))
            + ",2)",
            "service_ratio": f'IF(N({r("contract_total")})=0,"",{r("service_total")}/{r("contract_total")})',
            "integration_ratio": (
                f'IF(N({r("contract_total")})=0,"",{self.cents("integration", row)}/{r("contract_total")})'
            ),
            "eligible_base": (
                f"MAX(0,ROUND(MIN({self.cents('paid', row, True)},{self.cents('contract_total', row, True)},"
                f"{self.items_total(row)})-MAX(0,"
                f"{r('service_total')}-{self.limit('service_fee_limit', row)},"
                f"{self.cents('integration', row)}-{self.limit('integration_fee_limit', row)}),2))"
            ),
            "transformation_subsidy": (
                f"IF({eligible},MIN(ROUND({r('eligible_base')}*{self.at('subsidy_rate', row)},2),"
                f"{self.by_level('subsidy_cap', row)}),0)"
            ),
            "progress_bonus": (
                f"IF(AND({eligible},ISNUMBER({r('completion_date')}),ISNUMBER({r('evaluation_date')}),"
                f"INT(N({r('completion_date')}))<={deadline},INT(N({r('evaluation_date')}))<={deadline}),"
                f"{self.by_level('progress_bonus', row)},0)"
            ),
            "honor_award": (
                f'IF(AND({eligible},{r("honor")}<>"{none_honor}",ISNUMBER(MATCH({r("honor")},{list_name("honor")},0))),'
                f"{self.at('honor_award', row)},0)"
            ),
            "total_award": (
                f"ROUND({r('transformation_subsidy')}+{r('progress_bonus')}+{r('honor_award')},2)"
            ),
        }
        formulas.update(self._split(row))
        return {name: self._guard(row, expression) for name, expression in formulas.items()}

    def _split(self, row: int) -> dict[str, str]:
        """The parts by funding source: all but the last rounded, the last what remains."""
        subsidy = self.ref("transformation_subsidy", row)
        sources = list(self.policy.shares("subsidy_split"))
        parts = {}
        for source in sources[:-1]:
            parts[SUBSIDY_PART_FIELDS[source]] = f"ROUND({subsidy}*{self.at('subsidy_split', row, source)},2)"
        others = "".join(f"-{self.ref(SUBSIDY_PART_FIELDS[s], row)}" for s in sources[:-1])
        parts[SUBSIDY_PART_FIELDS[sources[-1]]] = f"ROUND({subsidy}{others},2)"
        return parts
