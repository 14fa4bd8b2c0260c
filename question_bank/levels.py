"""Qualification levels, education levels, certificate methods and gender."""

from enum import StrEnum


class Level(StrEnum):
    ASSISTANT = "ASSISTANT"  # 助理社会工作师 (初级)
    INTERMEDIATE = "INTERMEDIATE"  # 社会工作师 (中级)
    SENIOR = "SENIOR"  # 高级社会工作师 (高级)


class Education(StrEnum):
    BELOW_HIGH_SCHOOL = "BELOW_HIGH_SCHOOL"  # 初中及以下
    HIGH_SCHOOL = "HIGH_SCHOOL"  # 高中或中专
    JUNIOR_COLLEGE = "JUNIOR_COLLEGE"  # 大专
    BACHELOR = "BACHELOR"  # 本科
    MASTER = "MASTER"  # 硕士
    DOCTOR = "DOCTOR"  # 博士

    @property
    def rank(self) -> int:
        """Return 0 (初中及以下) to 5 (博士), for comparing education levels."""
        return _EDUCATION_RANKS[self]


_EDUCATION_RANKS = {education: rank for rank, education in enumerate(Education)}


class CertificateMethod(StrEnum):
    EXAM = "EXAM"  # 考试取得
    REVIEW = "REVIEW"  # 评审取得


class Gender(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"
