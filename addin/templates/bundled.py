"""The files the repository ships: the blank templates under workbook_templates/ and the example
workbooks under addin/examples/. Regenerate them with `python -m addin.templates.bundled`; a test proves the
committed files are exactly what this produces."""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path
from typing import Any

import openpyxl
from stdnum.cn import uscc as uscc_number

from addin import template_spec as spec
from addin.io.output import save_workbook
from addin.templates.application import build_application_template
from addin.templates.awards import build_awards_template
from addin.templates.plan import build_plan_template
from addin.templates.printing import load_workbook_keeping_print_areas
from schemas.fields import YES, material_fields
from schemas.policy import Policy, load_policy

REPOSITORY = Path(__file__).resolve().parents[2]
APPLICATION_TEMPLATE = "workbook_templates/application_template.xlsx"
PLAN_TEMPLATE = "workbook_templates/plan_template.xlsx"
EXAMPLE_PLAN = "addin/examples/plan.xlsx"
EXAMPLES = {
    "第八师石河子市": "addin/examples/division-08-shihezi.xlsx",
    "第一师阿拉尔市": "addin/examples/division-01-alar.xlsx",
    "第六师五家渠市": "addin/examples/division-06-wujiaqu.xlsx",
}
EXAMPLE_ROWS = spec.DEFAULT_ROWS  # the examples are filled copies of the bundled template
# The 第八师's examples are its second submission (版本号 2); its first, with fewer rows, is replaced by it
# when both are consolidated (the demo does).
EXAMPLE_REVISIONS = {"第八师石河子市": (2, dt.date(2026, 3, 20))}
EXAMPLE_EARLIER = "addin/examples/division-08-shihezi-revision-1.xlsx"
EXAMPLE_EARLIER_UNIT = "第八师石河子市"
EXAMPLE_EARLIER_REVISION = (1, dt.date(2026, 3, 10))
EARLIER_ROWS = 3


def credit_code(region: str, body: str) -> str:
    """A valid 统一社会信用代码 for an enterprise (91…) with the GB 32100 check digit."""
    stem = f"91{region}{body}"
    return stem + uscc_number.calc_check_digit(stem)


def wrong_check_digit(code: str) -> str:
    """The same code with another check digit: what a typo in the last character gives."""
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _enterprise(name: str, code: str, division: str, industry: str, **values: Any) -> dict[str, Any]:
    row = {
        "name": name,
        "uscc": code,
        "division": division,
        "industry": industry,
        "size_class": "小型",
        "provider": "新疆兵团数智科技有限公司",
        "contract_date": _d("2025-01-15"),
        "completion_date": _d("2025-08-30"),
        "evaluation_date": _d("2025-11-20"),
        "level": "二级",
        "little_giant": "否",
        "negative_record": "无",
        "honor": "无",
        **{f.id: YES for f in material_fields(load_policy())},
    }
    row.update(values)
    return row


def _costs(
    total: float,
    software: float,
    cloud: float,
    equipment: float,
    consulting: float,
    integration: float,
    other: float,
    paid: float | None = None,
) -> dict[str, Any]:
    return {
        "contract_total": total,
        "software": software,
        "cloud": cloud,
        "equipment": equipment,
        "consulting": consulting,
        "integration": integration,
        "other_service": other,
        "paid": total if paid is None else paid,
    }


PROVIDERS = (
    "新疆兵团数智科技有限公司",
    "石河子云联信息技术有限公司",
    "乌鲁木齐工控智能科技有限公司",
    "阿拉尔智造软件有限公司",
)

SHARED_ENTERPRISE = credit_code("659001", "MA78C2K4Q")  # reported by 第八师 and 第一师 alike


def shihezi_rows() -> list[dict[str, Any] | None]:
    unit = "第八师石河子市"
    return [
        _enterprise(
            "石河子市天山纺织有限公司",
            credit_code("659001", "MA77R1N0X"),
            unit,
            "纺织服装",
            **_costs(1000000, 500000, 100000, 200000, 100000, 60000, 40000),
            claimed=500000,
            remark="二级，进度补贴",
        ),
        _enterprise(
            "石河子绿洲乳业有限公司",
            credit_code("659001", "MA77T3B5W"),
            unit,
            "绿色食品加工",
            level="三级",
            honor="国家级数字化车间",
            **_costs(1200000, 700000, 150000, 180000, 120000, 30000, 20000),
            claimed=600000,
        ),
        _enterprise(
            "新疆天富装备制造有限公司",
            credit_code("659001", "MA77U8D2P"),
            unit,
            "高端装备",
            level="四级",
            size_class="中型",
            **_costs(3000000, 1800000, 300000, 400000, 300000, 150000, 50000),
            claimed=1500000,
            remark="补贴恰好达到四级上限",
        ),
        _enterprise(
            "石河子开发区新材料有限公司",
            credit_code("659001", "MA77W4E6L"),
            unit,
            "新材料（含化工）",
            **_costs(800000, 440000, 50000, 100000, 150000, 40000, 20000),
            claimed=375000,
            remark="故意填错：服务费超过20%",
        ),
        _enterprise(
            "石河子西部棉业有限公司",
            credit_code("659001", "MA77X9F1H"),
            unit,
            "纺织服装",
            **_costs(600000, 300000, 100000, 100000, 60000, 30000, 10000),
            claimed=350000,
            remark="故意填错：申请金额超过可补贴金额",
        ),
        _enterprise(
            "石河子丝路果业有限公司",
            credit_code("659001", "MA77Y2G7M"),
            unit,
            "绿色食品加工",
            **_costs(500000, 300000, 50000, 80000, 50000, 20000, 0, paid="500,000.00"),
            claimed=250000,
            remark="提示：实际支付以文本形式填写",
        ),
        _enterprise(
            "石河子北泉机械有限公司",
            wrong_check_digit(credit_code("659001", "MA77Q5H3K")),
            unit,
            "高端装备",
            **_costs(400000, 250000, 50000, 50000, 30000, 20000, 0),
            claimed=200000,
            remark="故意填错：信用代码校验码错误",
        ),
        None,
        _enterprise(
            "石河子恒瑞化工有限公司",
            credit_code("659001", "MA780A1J8"),
            unit,
            "新材料（含化工）",
            level="一级",
            **_costs(300000, 200000, 30000, 40000, 20000, 10000, 0),
            claimed=150000,
            remark="故意填错：一级企业申请补贴",
        ),
        _enterprise(
            "石河子金穗食品有限公司",
            credit_code("659001", "MA781B2K9"),
            unit,
            "绿色食品加工",
            contract_date=_d("2024-09-30"),
            **_costs(450000, 300000, 50000, 50000, 30000, 20000, 0),
            claimed=225000,
            remark="故意填错：合同签订早于2024-10-18",
        ),
        _enterprise(
            "石河子云智纺织科技有限公司",
            credit_code("659001", "MA782C3L0"),
            unit,
            "纺织服装",
            level=None,
            completion_date=None,
            evaluation_date=None,
            **_costs(700000, 400000, 100000, 100000, 60000, 40000, 0, paid=350000),
            doc_evaluation="否",
            remark="改造中，尚未评测",
        ),
        _enterprise(
            "石河子天业节水装备有限公司",
            SHARED_ENTERPRISE,
            unit,
            "高端装备",
            **_costs(900000, 500000, 100000, 150000, 100000, 50000, 0),
            claimed=450000,
        ),
    ]


def alar_rows() -> list[dict[str, Any] | None]:
    unit = "第一师阿拉尔市"
    return [
        _enterprise(
            "阿拉尔新农棉浆有限责任公司",
            credit_code("659002", "MA78A1P2R"),
            unit,
            "纺织服装",
            level="三级",
            **_costs(2000000, 1200000, 200000, 300000, 200000, 100000, 0),
            claimed=800000,
            remark="补贴恰好达到三级上限",
        ),
        _enterprise(
            "阿拉尔塔河果品有限公司",
            credit_code("659002", "MA78B3Q4T"),
            unit,
            "绿色食品加工",
            **_costs(500000, 300000, 50000, 50000, 50000, 30000, 20000),
            claimed=250000,
        ),
        _enterprise(
            "天业节水（阿拉尔）分公司",
            SHARED_ENTERPRISE,
            unit,
            "高端装备",
            **_costs(900000, 500000, 100000, 150000, 100000, 50000, 0),
            claimed=450000,
            remark="故意填错：与第八师重复申报同一企业",
        ),
        _enterprise(
            "阿拉尔盛源化工有限公司",
            credit_code("659002", "MA78D5R6U"),
            unit,
            "新材料（含化工）",
            negative_record="经营异常名录",
            **_costs(600000, 400000, 50000, 80000, 40000, 30000, 0),
            claimed=300000,
            remark="故意填错：有不良记录",
        ),
    ]


def wujiaqu_rows() -> list[dict[str, Any] | None]:
    unit = "第六师五家渠市"
    return [
        _enterprise(
            "五家渠青湖装备有限公司",
            credit_code("659004", "MA79A2R3W"),
            unit,
            "高端装备",
            level="四级",
            honor="5G工厂",
            **_costs(2500000, 1500000, 300000, 300000, 200000, 150000, 50000),
            claimed=1250000,
        ),
        _enterprise(
            "五家渠六运食品有限公司",
            credit_code("659004", "MA79B4T5W"),
            unit,
            "绿色食品加工",
            little_giant="是",
            **_costs(800000, 510000, 100000, 100000, 50000, 40000, 0),
            claimed=400000,
            remark="故意填错：已获支持的小巨人",
        ),
        _enterprise(
            "五家渠梧桐纺织有限公司",
            credit_code("659004", "MA79C6U7X"),
            unit,
            "纺织服装",
            evaluation_date=_d("2026-01-05"),
            **_costs(400000, 250000, 50000, 50000, 30000, 20000, 0),
            claimed=200000,
            doc_invoice="否",
            doc_payment=None,
            remark="评测晚于2025-12-31，无进度补贴；故意填错：缺少发票、付款凭证",
        ),
        _enterprise(
            "五家渠恒信新材料有限公司",
            credit_code("659004", "MA79D8W9Y"),
            unit,
            "新材料（含化工）",
            **_costs(1000000, 600000, 100000, 100000, 80000, 70000, 50000),
            claimed=500000,
            remark="故意填错：集成费超过6%",
        ),
    ]


EXAMPLE_AWARDS = "addin/examples/awards.xlsx"
AWARDS_TEMPLATE = "workbook_templates/awards_template.xlsx"
AWARDS_UNIT = "兵团专班"
BUREAU = "兵团配套资金"  # the funding sources as the 资金来源 dropdown names them
CENTRAL = "中央专项资金"
DIVISION_FUND = "师市配套资金"
YUNLIAN = credit_code("659001", "MA7K2D8N1")  # 石河子云联信息技术有限公司, a provider
SHUZHI = credit_code("650100", "MA7K3F9P2")  # 新疆兵团数智科技有限公司, a provider


def _winner(applicant: dict[str, Any], **values: Any) -> dict[str, Any]:
    """An enterprise on an award sheet: who it is (from the application examples), clean record."""
    row = {
        "name": applicant["name"],
        "uscc": applicant["uscc"],
        "division": applicant["division"],
        "negative_record": "无",
        "acceptance": "已验收合格",
        "little_giant": "否",
    }
    row.update(values)
    return row


def award_rows() -> dict[str, list[dict[str, Any]]]:
    """The example awards workbook: a few winners per sheet, two of them wrong on purpose."""
    shihezi, alar, wujiaqu = shihezi_rows(), alar_rows(), wujiaqu_rows()
    return {
        "typical_case": [
            _winner(shihezi[0], industry="纺织服装", title="棉纺全流程数字化管控", amount=200000),
            _winner(alar[0], industry="纺织服装", title="棉浆生产线设备联网与能耗优化", amount=150000),
            _winner(
                wujiaqu[0],
                industry="高端装备",
                title="5G工厂柔性装配",
                amount=250000,
                remark="故意填错：超过每家20万元",
            ),
        ],
        "chain_leader": [_winner(shihezi[2], chain="高端装备产业链", amount=500000)],
        "carrier": [
            _winner(
                {"name": "石河子云联信息技术有限公司", "uscc": YUNLIAN, "division": "第八师石河子市"},
                carrier="石河子数字化转型促进中心",
                recognized="是",
                investment=8000000,
                source=BUREAU,
            ),
            _winner(
                {
                    "name": "阿拉尔塔河智能制造服务有限公司",
                    "uscc": credit_code("659002", "MA7K4G1Q3"),
                    "division": "第一师阿拉尔市",
                },
                carrier="阿拉尔智能制造体验中心",
                recognized="是",
                investment=15000000,
                source=DIVISION_FUND,
                remark="按投入10%为150万元，封顶100万元",
            ),
            _winner(
                {
                    "name": "五家渠数联科技有限公司",
                    "uscc": credit_code("659004", "MA7K5H2R4"),
                    "division": "第六师五家渠市",
                },
                carrier="五家渠中小企业数字化适配中心",
                recognized="否",
                investment=3000000,
                source=BUREAU,
                remark="故意填错：尚未经兵团认定",
            ),
        ],
        "provider": [
            _winner(
                {"name": "新疆兵团数智科技有限公司", "uscc": SHUZHI, "division": None},
                source=BUREAU,
                amount=1000000,
            ),
            _winner(
                {"name": "石河子云联信息技术有限公司", "uscc": YUNLIAN, "division": None},
                source=CENTRAL,
                amount=500000,
            ),
        ],
        "product": [
            _winner(
                {"name": "石河子云联信息技术有限公司", "uscc": YUNLIAN, "division": None},
                product="棉纺车间设备联网SaaS",
                amount=400000,
            ),
        ],
        "division": [
            {"division": "第八师石河子市", "amount": 1000000},
            {"division": "第一师阿拉尔市", "amount": 800000},
        ],
    }


EXAMPLE_ROWS_BY_UNIT = {
    "第八师石河子市": shihezi_rows,
    "第一师阿拉尔市": alar_rows,
    "第六师五家渠市": wujiaqu_rows,
}


def filled_application(
    policy: Policy,
    unit: str,
    rows: list[dict[str, Any] | None],
    template_rows: int = EXAMPLE_ROWS,
    revision: tuple[int, dt.date | None] = (1, None),
) -> openpyxl.Workbook:
    """The application template filled as a clerk would (None leaves an empty row), of a revision."""
    buffer = io.BytesIO()
    build_application_template(
        policy, rows=template_rows, unit=unit, revision=revision[0], submitted_on=revision[1]
    ).save(buffer)
    workbook = load_workbook_keeping_print_areas(buffer)
    sheet = workbook[spec.DATA_SHEET]
    letters = spec.column_letters(policy)
    for offset, row in enumerate(rows):
        for name, value in (row or {}).items():
            cell = sheet[f"{letters[name]}{spec.FIRST_DATA_ROW + offset}"]
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # what the clerk typed is text, even when it starts with "="
    return workbook


def write_bundled(root: Path = REPOSITORY) -> list[Path]:
    policy = load_policy()
    written = [root / APPLICATION_TEMPLATE]
    (root / APPLICATION_TEMPLATE).parent.mkdir(parents=True, exist_ok=True)
    save_workbook(
        build_application_template(policy),
        root / APPLICATION_TEMPLATE,
        dynamic_arrays=spec.live_check_anchors(),
    )
    for relative in (PLAN_TEMPLATE, EXAMPLE_PLAN):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        save_workbook(build_plan_template(policy), root / relative)
        written.append(root / relative)
    save_workbook(build_awards_template(policy), root / AWARDS_TEMPLATE)
    save_workbook(
        build_awards_template(policy, unit=AWARDS_UNIT, records=award_rows()), root / EXAMPLE_AWARDS
    )
    written += [root / AWARDS_TEMPLATE, root / EXAMPLE_AWARDS]
    for unit, relative in EXAMPLES.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        save_workbook(
            filled_application(
                policy, unit, EXAMPLE_ROWS_BY_UNIT[unit](), revision=EXAMPLE_REVISIONS.get(unit, (1, None))
            ),
            target,
            dynamic_arrays=spec.live_check_anchors(),
        )
        written.append(target)
    earlier = EXAMPLE_ROWS_BY_UNIT[EXAMPLE_EARLIER_UNIT]()[:EARLIER_ROWS]
    save_workbook(
        filled_application(policy, EXAMPLE_EARLIER_UNIT, earlier, revision=EXAMPLE_EARLIER_REVISION),
        root / EXAMPLE_EARLIER,
        dynamic_arrays=spec.live_check_anchors(),
    )
    written.append(root / EXAMPLE_EARLIER)
    return written


if __name__ == "__main__":
    for path in write_bundled(Path(sys.argv[1]) if len(sys.argv) > 1 else REPOSITORY):
        print(path)
