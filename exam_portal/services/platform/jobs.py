"""Background jobs: submit a kind of work on a target, run it on the configured runner
(RQ, a thread of this process, or inline), and keep its progress and summary.

A job kind is a function taking the job's parameters and a progress callback and
returning a JSON summary. Kinds must be safe to run again: a job that died half-way
(its process killed) is simply started afresh.
"""

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.jobs import Job, JobStatus
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.platform import audit

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]


def no_progress(phase: str, done: int, total: int | None) -> None:
    """The progress callback of work run outside a job (tests, commands)."""


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable[[dict, Progress], dict]


KINDS: dict[str, JobKind] = {}


def job_kind(name: str):
    """Register a function as the job kind *name*."""
    def register(function: Callable[[dict, Progress], dict]):
        KINDS[name] = JobKind(name, function)
        return function
    return register


def is_stale(job: Job, now=None) -> bool:
    if job.status is not JobStatus.RUNNING or job.heartbeat_at is None:
        return False
    limit = timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    return (now or utcnow()) - job.heartbeat_at > limit


def latest(kind: str, target_id: int) -> Job | None:
    return db.session.scalar(sa.select(Job).where(Job.kind == kind, Job.target_id == target_id)
                             .order_by(Job.id.desc()).limit(1))


def submit(kind: str, *, target_id: int, params: dict, actor: User) -> Job:
    """Record a job and hand it to the runner. Commits: a worker in another process
    must be able to read the job row. Refused while the same work is under way."""
    if kind not in KINDS:
        raise ServiceError(gettext("未知的后台任务。"))
    now = utcnow()
    running = latest(kind, target_id)
    if running is not None and not running.finished:
        if running.status is JobStatus.RUNNING and is_stale(running, now):
            _fail(running, gettext("任务中断（处理它的进程已停止），已重新开始。"), now)
        elif running.status is JobStatus.QUEUED and now - running.created_at > timedelta(
                seconds=current_app.config["JOB_STALE_SECONDS"]):
            _fail(running, gettext("任务排队过久未开始，已重新提交。"), now)
        else:
            raise ServiceError(gettext("这项工作正在进行中，请等它完成。"))
        db.session.flush()  # the replaced run leaves the active-job index first
    job = Job(kind=kind, target_id=target_id, params=params, created_by_id=actor.id,
              status=JobStatus.QUEUED, created_at=now)
    try:
        with db.session.begin_nested():  # two clicks at once: the unique index lets one in
            db.session.add(job)
    except IntegrityError as error:
        raise ServiceError(gettext("这项工作正在进行中，请等它完成。")) from error
    audit.record("job.submitted", target=job, actor=actor,
                 details={"kind": kind, "target": target_id, "params": params})
    db.session.commit()
    try:
        _dispatch(current_app._get_current_object(), job.id)
    except Exception as error:  # noqa: BLE001 - e.g. Redis down: say so, free the target
        log.exception("job %s could not be queued", job.id)
        db.session.rollback()
        _finish(job.id, None, JobStatus.QUEUED, status=JobStatus.FAILED,
                error=gettext("任务无法提交到队列，请稍后重试。"))
        raise ServiceError(gettext("任务无法提交到队列，请稍后重试。")) from error
    return job


def _fail(job: Job, message: str, now) -> None:
    job.status, job.error, job.finished_at = JobStatus.FAILED, message[:1000], now


# Runners ---------------------------------------------------------------------------

def _dispatch(app: Flask, job_id: int) -> None:
    runner = app.config["JOB_RUNNER"]
    if runner == "inline":
        run(job_id)
    elif runner == "thread":
        _executor(app).submit(_run_in_app, app, job_id)
    else:
        queue(app).enqueue(run_queued, job_id, job_id=f"portal-job-{job_id}",
                            job_timeout=6 * 3600, result_ttl=3600, failure_ttl=7 * 86400)


def _executor(app: Flask) -> ThreadPoolExecutor:
    # One worker thread per process: jobs are heavy and the database serialises
    # their writes anyway; more would only compete with the web requests.
    return app.extensions.setdefault(
        "job_executor", ThreadPoolExecutor(max_workers=1, thread_name_prefix="job"))


def _run_in_app(app: Flask, job_id: int) -> None:
    with app.app_context():
        run(job_id)


def queue(app: Flask, *, for_mail: bool = False):
    """The RQ queue of jobs, or the one of mail deliveries (which workers take first: a
    reset link should not wait behind a session's certificates)."""
    from redis import Redis
    from rq import Queue

    name = app.config["JOB_QUEUE"] + ("-mail" if for_mail else "")
    # A connect timeout: mail deliveries are queued from requests, which must not hang
    # on an unreachable Redis.
    return Queue(name, connection=Redis.from_url(app.config["REDIS_URL"],
                                                 socket_connect_timeout=3))


def run_queued(job_id: int) -> None:
    """What RQ calls; the worker (`flask jobs worker`) runs inside an app context."""
    run(job_id)


def work(app: Flask, *, burst: bool = False) -> None:
    """Process queued jobs and mail deliveries in this process until stopped (or, with
    *burst*, until the queues are empty). A SimpleWorker runs each job here, inside the app context,
    rather than in a forked child that would inherit pooled database connections."""
    from rq import SimpleWorker

    queues = [queue(app, for_mail=True), queue(app)]
    worker = SimpleWorker(queues, connection=queues[1].connection,
                          name=f"portal-{uuid.uuid4().hex[:8]}")
    worker.work(burst=burst, with_scheduler=False)


class _Replaced(Exception):
    """This run's job was taken as dead and replaced: stop without a word."""


def run(job_id: int) -> None:
    """Carry out a queued job, recording its progress, summary or failure. Every write
    to the job row is conditional on this run still owning it, so a run taken for dead
    (and replaced) cannot overwrite its successor's outcome."""
    job = db.session.get(Job, job_id)
    if job is None:
        return
    started = utcnow()
    claimed = db.session.execute(
        sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=started, heartbeat_at=started)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if claimed != 1:
        return  # already run (a second delivery), or replaced
    kind, params = job.kind, dict(job.params)

    def progress(phase: str, done: int, total: int | None) -> None:
        # Committed with the work done so far: the job page reads it from any process.
        owned = db.session.execute(
            sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING,
                                 Job.started_at == started)
            .values(phase=phase, done=done, total=total, heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if owned != 1:
            raise _Replaced

    try:
        summary = KINDS[kind].run(params, progress)
    except _Replaced:
        db.session.rollback()
        log.warning("job %s was replaced while it ran; its run stops", job_id)
        return
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the job
        db.session.rollback()
        if isinstance(error, ServiceError):
            message = str(error)
        else:
            log.exception("job %s (%s) failed", job_id, kind)
            message = gettext("任务出错（编号 %(id)s），详情见服务器日志。", id=job_id)
        _finish(job_id, started, JobStatus.RUNNING, status=JobStatus.FAILED, error=message)
        return
    _finish(job_id, started, JobStatus.RUNNING, status=JobStatus.SUCCEEDED, summary=summary)


def _finish(job_id: int, started, expected: JobStatus, **values) -> None:
    conditions = [Job.id == job_id, Job.status == expected]
    if started is not None:
        conditions.append(Job.started_at == started)
    if "error" in values:
        values["error"] = values["error"][:1000]
    db.session.execute(sa.update(Job).where(*conditions)
                       .values(finished_at=utcnow(), **values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def percent(job: Job) -> int:
    if job.status is JobStatus.SUCCEEDED:
        return 100
    if not job.total:
        return 0
    return min(100, job.done * 100 // job.total)
