"""The module the Excel add-in dtfund.xlam imports.

Its ribbon button runs `import dtfund; dtfund.main()` (the add-in's VBA names the module after the
add-in file), and its settings sheet lists `dtfund` under UDF Modules, so the Excel functions below
are registered into the add-in with its ImportPythonUDFsToAddin macro.
"""

from addin.excel.ribbon import main
from addin.excel.udfs import (
    DTFUND_CALC,
    DTFUND_FEES,
    DTFUND_POLICY,
    DTFUND_RULE,
    DTFUND_SPLIT,
    DTFUND_SUBSIDY,
    DTFUND_VALIDATE,
)

__all__ = [
    "main",
    "DTFUND_CALC",
    "DTFUND_FEES",
    "DTFUND_POLICY",
    "DTFUND_RULE",
    "DTFUND_SPLIT",
    "DTFUND_SUBSIDY",
    "DTFUND_VALIDATE",
]
