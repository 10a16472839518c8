"""The template's native Excel formulas: the same steps as schemas/calculation.py, written so that
Excel, WPS and LibreOffice compute every amount with no add-in. Every number is a named range on the
参数 sheet (generated from the policy), never a literal: each parameter's dated table, from-dates
(`P_…_FROM`) beside values (`P_…`), looked up by the row's key date."""

from __future__ import annotations

from schemas.calculation import calculation_inputs
from schemas.fields import NO, TOTAL_FIELD, field_by_id, input_fields, none_value, part_fields
from schemas.lines import Base, FundingLine
from schemas.policy import CONTRACT_WINDOW, DateWindow, Policy


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


def text_sensitive_inputs(policy: Policy) -> list[str]:
    """The calculation's inputs that the formulas cannot compute when typed as text: amounts and dates."""
    return [name for name in calculation_inputs(policy) if field_by_id(policy)[name].kind in ("money", "date")]


class RowFormulas:
    """The formulas of one data row, given each field's column letter."""

    def __init__(self, letters: dict[str, str], policy: Policy) -> None:
        self.letters = letters
        self.policy = policy
        inputs = [f.id for f in input_fields(policy)]
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
        texts = ",".join(f"ISTEXT({self.ref(name, row)})" for name in text_sensitive_inputs(self.policy))
        return f"NOT(OR({texts}))"

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
        """第十条（一）1 level, the date windows (第十一条（一）2), 第九条 size class, 第十条（七） exclusions:
        each met only by a valid value (a blank or unlisted choice meets none), as schemas.calculation."""
        r = lambda name: self.ref(name, row)  # noqa: E731
        windows = ",".join(self.in_window(row, window) for window in self.policy.windows)
        return (
            f"AND(ISNUMBER(MATCH({r('level')},{LEVELS_NAME},0)),{windows},"
            f"ISNUMBER(MATCH({r('size_class')},{list_name('size_class')},0)),"
            f'{r("negative_record")}="{none_value("negative_record")}",{r("little_giant")}="{NO}",'
            f"{self.readable(row)})"
        )

    def in_window(self, row: int, window: DateWindow = CONTRACT_WINDOW) -> str:
        """The window's date (its day: a time typed with it does not count) within the window. (N(): a
        date typed as text is no date, and not an error that would spread over the row.)"""
        date = self.ref(window.field, row)
        start, end = self.at(window.start, row), self.at(window.end, row)
        return f'ISNUMBER({date}),INT(N({date}))>={start},OR({end}="",INT(N({date}))<={end})'

    def items_total(self, row: int, items: tuple[str, ...]) -> str:
        """Σ of the base's cost items, blanks as zero, each at the cent."""
        return "ROUND(" + "+".join(self.cents(name, row, blank_as_zero=True) for name in items) + ",2)"

    def _fee_limit(self, row: int, kind: str) -> str:
        return f"ROUND({self.cents('contract_total', row)}*{self.at(self._fee_limits()[kind], row)},2)"

    def _fee_limits(self) -> dict[str, str]:
        line = self.policy.rated_line
        return line.base.fee_limits if line is not None and line.base is not None else {}

    def fee_limit_exceeded(self, row: int, kind: str) -> str:
        """The fee (service: 总体服务费; integration: 集成费) over its limit."""
        fee = self.ref("service_total" if kind == "service" else "integration", row)
        typed = fee if kind == "service" else self.cents("integration", row)  # (总体服务费 is rounded)
        return f"AND(ISNUMBER({fee}),{typed}>{self._fee_limit(row, kind)})"

    def value(self, parameter: str, row: int) -> str:
        """A line's parameter in force on the row's key date (at the row's level for a table by level)."""
        return self.by_level(parameter, row) if self.policy.by_level(parameter) else self.at(parameter, row)

    def _base(self, row: int, base: Base) -> dict[str, str]:
        """The eligible base and, with fee limits, the service fee columns (schemas.calculation)."""
        r = lambda name: self.ref(name, row)  # noqa: E731
        formulas = {}
        paid, contract = self.cents("paid", row, True), self.cents("contract_total", row, True)
        base_of = f"MIN({paid},{contract},{self.items_total(row, base.items)})"
        if base.fee_limits:
            fees = ("consulting", "integration", "other_service")
            formulas["service_total"] = "ROUND(" + "+".join(self.cents(name, row) for name in fees) + ",2)"
            formulas["service_ratio"] = (
                f'IF(N({r("contract_total")})=0,"",{r("service_total")}/{r("contract_total")})'
            )
            formulas["integration_ratio"] = (
                f'IF(N({r("contract_total")})=0,"",{self.cents("integration", row)}/{r("contract_total")})'
            )
            fees = {"service": r("service_total"), "integration": self.cents("integration", row)}
            excesses = ",".join(f"{fees[kind]}-{self._fee_limit(row, kind)}" for kind in base.fee_limits)
            base_of = f"{base_of}-MAX(0,{excesses})"
        formulas["eligible_base"] = f"MAX(0,ROUND({base_of},2))"
        return formulas

    def line(self, row: int, line: FundingLine, eligible: str) -> str:
        """The line's amount (schemas.calculation._line_columns): rated or fixed, paid when the row is
        eligible and the line's conditions hold."""
        r = lambda name: self.ref(name, row)  # noqa: E731
        conditions = [eligible]
        if line.deadline:
            deadline = self.at(line.deadline, row)
            conditions += [f"ISNUMBER({r(name)})" for name in line.deadline_dates]
            conditions += [f"INT(N({r(name)}))<={deadline}" for name in line.deadline_dates]
        if line.listed is not None:
            field = field_by_id(self.policy)[line.listed.field]
            if field.none_value:
                conditions.append(f'{r(field.id)}<>"{field.none_value}"')
            conditions.append(f"ISNUMBER(MATCH({r(field.id)},{list_name(field.id)},0))")
        if line.rated and line.rate:
            amount = f"ROUND({r('eligible_base')}*{self.value(line.rate, row)},2)"
            if line.cap:
                amount = f"MIN({amount},{self.value(line.cap, row)})"
        else:
            amount = self.value(str(line.amount), row)
        condition = conditions[0] if len(conditions) == 1 else f"AND({','.join(conditions)})"
        return f"IF({condition},{amount},0)"

    def for_row(self, row: int) -> dict[str, str]:
        eligible = self.eligible(row)
        rated = self.policy.rated_line
        formulas = self._base(row, rated.base) if rated is not None and rated.base is not None else {}
        for line in self.policy.lines:
            formulas[line.id] = self.line(row, line, eligible)
        total = "+".join(self.ref(line.id, row) for line in self.policy.lines)
        formulas[TOTAL_FIELD] = f"ROUND({total},2)"
        formulas.update(self._split(row))
        return {name: self._guard(row, expression) for name, expression in formulas.items()}

    def _split(self, row: int) -> dict[str, str]:
        """The first line's parts by funding source: all but the last rounded, the last what remains."""
        line = self.policy.part_line
        amount = self.ref(line.id, row)
        fields = part_fields(self.policy)
        sources = list(fields)
        parts = {}
        for source in sources[:-1]:
            parts[fields[source]] = f"ROUND({amount}*{self.at(line.split, row, source)},2)"
        others = "".join(f"-{self.ref(fields[s], row)}" for s in sources[:-1])
        parts[fields[sources[-1]]] = f"ROUND({amount}{others},2)"
        return parts
