"""统一社会信用代码 (GB 32100-2015) for a whole column at once.

python-stdnum (`stdnum.cn.uscc`) is the reference and gives the reason a code is invalid, but it cleans
and checks one code at a time. Here the check digit of every code in a column is verified together with
numpy; stdnum is then asked only about the codes that fail. A test keeps both in agreement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
LENGTH = 18
MODULUS = len(ALPHABET)
WEIGHTS = np.array([pow(3, i, MODULUS) for i in range(LENGTH - 1)], dtype=np.int64)
DIGIT_PREFIX = 8  # stdnum requires the registration authority, category and region to be digits

_VALUE = np.full(256, -1, dtype=np.int64)
for _n, _c in enumerate(ALPHABET):
    _VALUE[ord(_c)] = _n
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[[ord(c) for c in "0123456789"]] = True

REASONS = {
    "InvalidLength": "长度应为18位",
    "InvalidFormat": "含有不允许的字符，或前8位（登记管理部门、机构类别和行政区划）不是数字",
    "InvalidChecksum": "第18位校验码不正确",
    "InvalidComponent": "登记管理部门或机构类别代码不正确",
}


def valid_mask(codes: pd.Series) -> pd.Series:
    """True where a code (upper case, no spaces) is a valid credit code; blanks are not codes (False)."""
    text = codes.where(codes.notna(), "").astype(str)
    ascii_18 = text.str.len().eq(LENGTH) & text.map(str.isascii).astype(bool)
    valid = pd.Series(False, index=codes.index)
    if not ascii_18.any():
        return valid
    candidates = text[ascii_18].to_numpy(dtype=f"S{LENGTH}")
    matrix = np.frombuffer(candidates.tobytes(), dtype=np.uint8).reshape(-1, LENGTH)
    values = _VALUE[matrix]
    well_formed = (values >= 0).all(axis=1) & _DIGIT[matrix[:, :DIGIT_PREFIX]].all(axis=1)
    check = (MODULUS - (values[:, :-1] * WEIGHTS).sum(axis=1) % MODULUS) % MODULUS
    valid.loc[ascii_18[ascii_18].index] = well_formed & (check == values[:, -1])
    return valid


def problem(code: str) -> str | None:
    """Why a code is invalid (python-stdnum's verdict, in Chinese), or None when it is valid."""
    try:
        stdnum_uscc.validate(code)
    except ValidationError as exc:
        return REASONS.get(type(exc).__name__, "格式不正确")
    return None
