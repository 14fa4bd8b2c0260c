"""Security scans run by scripts/test.sh before the tests: bandit and pip-audit.

Exit 0: both scans ran and found nothing to refuse. Exit 1: bandit found a
high-severity issue, pip-audit found an advisory the ignore file does not accept,
or a scan failed in a way that is not the network. Exit 3: pip-audit could not
reach a vulnerability service, so requirements.lock was NOT audited; the reason is
written to test-artifacts/security/status.txt (scripts/test.sh reports it in the
pytest summary, and fails the run when SECURITY_AUDIT_REQUIRED=1).

pip-audit's own verdict is not trusted on its own: when PyPI answers 404 for a
release's JSON it skips the dependency and still prints "No known vulnerabilities
found" with exit 0, so every skipped dependency here counts as "not audited".
"""

import json
import re
import subprocess  # noqa: S404 - runs the two scanners, no shell, fixed arguments
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# Everything that runs: the portal, its domain, the benchmark and install scripts.
# tests/ is left out (asserts, fixed passwords and temporary paths on purpose).
BANDIT_TARGETS = ("exam_portal", "question_bank", "bench", "scripts")
AUDITED_LOCK = "requirements.lock"  # what production installs
IGNORE_FILE = ROOT / "security" / "pip-audit-ignore.txt"
ARTIFACTS = ROOT / "test-artifacts" / "security"
ADVISORY_ID = re.compile(r"^(PYSEC|GHSA|CVE|OSV|BIT|RUSTSEC)-[\w.-]+$")

OK, FAILED, NOT_AUDITED = 0, 1, 3


class IgnoreFileError(Exception):
    """A line of the ignore file is not `ADVISORY-ID  reason`."""


@dataclass(frozen=True)
class AuditVerdict:
    code: int
    lines: tuple[str, ...]


def read_ignore_file(text: str) -> dict[str, str]:
    """Return {advisory id: reason}; every accepted advisory needs a reason."""
    accepted = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        advisory, _, reason = line.partition(" ")
        reason = reason.strip()
        if not ADVISORY_ID.match(advisory):
            raise IgnoreFileError(f"line {number}: {advisory!r} is not an advisory id")
        if len(reason) < 10:
            raise IgnoreFileError(f"line {number}: {advisory} needs a reason after the id")
        accepted[advisory] = reason
    return accepted


def judge_audit(report: dict, accepted: dict[str, str]) -> AuditVerdict:
    """Classify a pip-audit JSON report against the accepted advisories."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    if not dependencies or skipped:
        first = skipped[0]["skip_reason"] if skipped else "no dependency was read"
        return AuditVerdict(NOT_AUDITED, (
            f"pip-audit could not audit {len(skipped)} of {len(dependencies)} pins in "
            f"{AUDITED_LOCK} (first: {first})",))
    refused, allowed, used = [], [], set()
    for dependency in dependencies:
        for vuln in dependency.get("vulns", []):
            names = {vuln["id"], *vuln.get("aliases", [])}
            match = sorted(names & accepted.keys())
            where = f"{dependency['name']}=={dependency['version']} {vuln['id']}"
            if match:
                used.update(match)
                allowed.append(f"accepted: {where} ({accepted[match[0]]})")
            else:
                fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
                refused.append(f"VULNERABLE: {where} (fixed in: {fixes})")
    stale = [f"ignore entry no longer needed: {a}" for a in sorted(accepted.keys() - used)]
    lines = (*refused, *allowed, *stale)
    if refused:
        return AuditVerdict(FAILED, lines)
    return AuditVerdict(OK, (*lines, f"pip-audit: {len(dependencies)} pins in {AUDITED_LOCK}, "
                             "no unaccepted advisory"))


def run_bandit() -> int:
    """Fail on any high-severity finding (lower ones were reviewed: see `# noqa: S…`)."""
    command = [str(VENV_BIN / "bandit"), "-q", "-r", *BANDIT_TARGETS,
               "--severity-level", "high", "--confidence-level", "low",
               "-f", "txt", "-o", str(ARTIFACTS / "bandit.txt")]
    result = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603
    if result.returncode == 0:
        print(f"bandit: no high-severity finding in {' '.join(BANDIT_TARGETS)}")
        return OK
    print((ARTIFACTS / "bandit.txt").read_text(encoding="utf-8"), file=sys.stderr)
    print("bandit: high-severity findings above (fix them, or `# nosec BXXX - why` "
          "for a false positive)", file=sys.stderr)
    return FAILED


def run_pip_audit() -> AuditVerdict:
    try:
        accepted = read_ignore_file(IGNORE_FILE.read_text(encoding="utf-8"))
    except (OSError, IgnoreFileError) as error:
        return AuditVerdict(FAILED, (f"{IGNORE_FILE.relative_to(ROOT)}: {error}",))
    output = ARTIFACTS / "pip-audit.json"
    output.unlink(missing_ok=True)
    # --no-deps --disable-pip: the lock pins every package, so nothing is resolved or
    # installed; only the vulnerability service is asked.
    command = [str(VENV_BIN / "pip-audit"), "-r", AUDITED_LOCK, "--no-deps", "--disable-pip",
               "--progress-spinner", "off", "--timeout", "15", "-f", "json", "-o", str(output)]
    result = subprocess.run(command, cwd=ROOT, check=False, capture_output=True,  # noqa: S603
                            text=True)
    if not output.exists() or not output.read_text(encoding="utf-8").strip():
        errors = result.stderr.strip().splitlines() or ["(no output)"]
        unreachable = any(word in result.stderr for word in (
            "ConnectionError", "NameResolutionError", "Timeout", "Max retries"))
        code = NOT_AUDITED if unreachable else FAILED
        return AuditVerdict(code, (f"pip-audit did not finish: {errors[-1][:400]}",))
    return judge_audit(json.loads(output.read_text(encoding="utf-8")), accepted)


def main() -> int:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    status = ARTIFACTS / "status.txt"
    status.unlink(missing_ok=True)
    bandit = run_bandit()
    audit = run_pip_audit()
    stream = sys.stdout if audit.code == OK else sys.stderr
    for line in audit.lines:
        print(line, file=stream)
    if audit.code == NOT_AUDITED:
        status.write_text(audit.lines[0], encoding="utf-8")
    if FAILED in (bandit, audit.code):
        return FAILED
    return audit.code


if __name__ == "__main__":
    sys.exit(main())
