"""Training institutions (培训机构): the kinds that prepare candidates and provide
continuing education."""

import enum

NAME_MAX_CHARS = 120


class InstitutionKind(enum.StrEnum):
    TRAINING_ORG = "training_org"   # 培训机构
    UNIVERSITY = "university"       # 高校
    ASSOCIATION = "association"     # 社会工作协会
