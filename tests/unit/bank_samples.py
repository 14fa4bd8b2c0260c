"""Valid sample items of every type, for the item and format tests."""

from datetime import date
from decimal import Decimal

from question_bank.items import ItemContent, ItemType, KeyPoint, LawReference, Source, SubQuestion
from question_bank.subjects import Subject

SINGLE = ItemContent(
    subject=Subject.COMP_JR, item_type=ItemType.SINGLE,
    stem="社会工作者小李在接案时首先应当（  ）。\n请选择最恰当的一项。",
    options=("建立专业关系", "制订服务计划", "评估服务成效", "结束专业关系"),
    keys=("A",), explanation="接案阶段的首要任务是与服务对象建立专业关系。",
    difficulty=2, syllabus=("COMP_JR.04",), tags=("个案工作", "接案"),
)
MULTI = ItemContent(
    subject=Subject.COMP_JR, item_type=ItemType.MULTI,
    stem='含有特殊字符的题干："引号", 逗号, <不是标签 & 符号>\t制表符',
    options=("甲，乙", '"带引号"', "第三项\n换行", "以上都对", "E 选项"),
    keys=("A", "C", "D"), fixed_order=True, explanation="解析。", difficulty=4,
    syllabus=("COMP_JR.04", "COMP_JR.05"), source=Source.MOCK,
)
LAW = ItemContent(
    subject=Subject.LAW_MID, item_type=ItemType.SINGLE,
    stem="法规题干（  ）。", options=("一", "二", "三", "四"), keys=("D",),
    explanation="依据该条规定。", difficulty=3, syllabus=("LAW_MID.04",),
    law=LawReference("中华人民共和国老年人权益保障法", "第十四条", date(2019, 1, 1)),
)
CASE = ItemContent(
    subject=Subject.PRAC_MID, item_type=ItemType.CASE_ANALYSIS,
    stem="案例：某社区的王奶奶独居……", explanation="评分说明。", difficulty=3,
    syllabus=("PRAC_MID.05",), points=Decimal(20),
    sub_questions=(
        SubQuestion("分析王奶奶的需要。", Decimal(10),
                    (KeyPoint("生理需要", Decimal("2.5")),
                     KeyPoint("社会交往需要", Decimal("7.5")))),
        SubQuestion("设计服务策略。", Decimal(10), (KeyPoint("链接资源", Decimal(10)),)),
    ),
)
ESSAY = ItemContent(
    subject=Subject.PRAC_SR, item_type=ItemType.ESSAY, stem="论述社会工作督导的作用。",
    explanation="要点见下。", difficulty=5, syllabus=("PRAC_SR.02",), points=Decimal(20),
    key_points=(KeyPoint("行政功能", Decimal(6)), KeyPoint("教育功能", Decimal(7)),
                KeyPoint("支持功能", Decimal(7))),
)
PLAN = ItemContent(
    subject=Subject.PRAC_MID, item_type=ItemType.PLAN_DESIGN, stem="设计一个服务方案。",
    explanation="要点。", difficulty=3, syllabus=("PRAC_MID.13",), points=Decimal("20"),
    key_points=(KeyPoint("目标", Decimal("10.5")), KeyPoint("评估", Decimal("9.5"))),
)
ALL = {"single": SINGLE, "multi": MULTI, "law": LAW, "case": CASE, "essay": ESSAY, "plan": PLAN}
