"""The six exam subjects and the level each belongs to."""

from enum import StrEnum

from .levels import Level


class SubjectKind(StrEnum):
    OBJECTIVE = "OBJECTIVE"  # machine-scored choice items
    SUBJECTIVE = "SUBJECTIVE"  # case analysis, plan design, essay: marked by people


class Subject(StrEnum):
    COMP_JR = "COMP_JR"  # 社会工作综合能力（初级）
    PRAC_JR = "PRAC_JR"  # 社会工作实务（初级）
    COMP_MID = "COMP_MID"  # 社会工作综合能力（中级）
    LAW_MID = "LAW_MID"  # 社会工作法规与政策
    PRAC_MID = "PRAC_MID"  # 社会工作实务（中级）
    PRAC_SR = "PRAC_SR"  # 社会工作实务（高级）

    @property
    def level(self) -> Level:
        return _LEVELS[self]

    @property
    def kind(self) -> SubjectKind:
        return _KINDS[self]

    @property
    def is_law(self) -> bool:
        return self is Subject.LAW_MID


_LEVELS = {
    Subject.COMP_JR: Level.ASSISTANT,
    Subject.PRAC_JR: Level.ASSISTANT,
    Subject.COMP_MID: Level.INTERMEDIATE,
    Subject.LAW_MID: Level.INTERMEDIATE,
    Subject.PRAC_MID: Level.INTERMEDIATE,
    Subject.PRAC_SR: Level.SENIOR,
}
_KINDS = {
    subject: SubjectKind.SUBJECTIVE
    if subject in (Subject.PRAC_MID, Subject.PRAC_SR)
    else SubjectKind.OBJECTIVE
    for subject in Subject
}
# The subjects of choice items only (every subject but the senior and intermediate
# practice papers), in the official order.
OBJECTIVE_SUBJECTS = tuple(s for s in Subject if _KINDS[s] is SubjectKind.OBJECTIVE)


# The official subject names, as score sheets and syllabus documents write them.
NAMES_ZH = {
    Subject.COMP_JR: "社会工作综合能力（初级）",
    Subject.PRAC_JR: "社会工作实务（初级）",
    Subject.COMP_MID: "社会工作综合能力（中级）",
    Subject.LAW_MID: "社会工作法规与政策",
    Subject.PRAC_MID: "社会工作实务（中级）",
    Subject.PRAC_SR: "社会工作实务（高级）",
}
_BY_NAME = {name: subject for subject, name in NAMES_ZH.items()}


def subject_named(text: str) -> Subject | None:
    """The subject a cell names: its code (COMP_JR) or its official name, with ASCII
    or full-width brackets."""
    text = text.strip().replace("(", "（").replace(")", "）")
    if text.upper() in Subject.__members__:
        return Subject(text.upper())
    return _BY_NAME.get(text)
