"""Background jobs on each runner (inline, a thread, RQ on a real Redis), with their
progress, summary and failures, and the results of a session computed as one."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.jobs import Job, JobStatus
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.platform import jobs

from ..factories import make_user

REDIS_URL = "redis://127.0.0.1:6379/15"


@jobs.job_kind("test.count")
def _count_job(params: dict, progress: jobs.Progress) -> dict:
    for done in range(1, params["steps"] + 1):
        progress("counting", done, params["steps"])
    if params.get("fail") == "refused":
        raise ServiceError("没有可以处理的内容。")
    if params.get("fail") == "crash":
        raise RuntimeError("boom")
    return {"counted": params["steps"]}


def _submit(app, actor_id, **params) -> int:
    with app.app_context():
        job = jobs.submit("test.count", target_id=7, params={"steps": 3, **params},
                          actor=db.session.get(User, actor_id))
        return job.id


def _job(app, job_id) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="jobs-admin@example.com")


def test_an_inline_job_runs_to_its_summary_with_progress(app, admin):
    job = _job(app, _submit(app, admin))
    assert job.status is JobStatus.SUCCEEDED and job.summary == {"counted": 3}
    assert (job.phase, job.done, job.total) == ("counting", 3, 3)
    assert job.started_at and job.finished_at and job.heartbeat_at
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "job.submitted")) == 1


def test_a_failed_job_says_why_and_a_crash_shows_no_internals(app, admin, caplog):
    refused = _job(app, _submit(app, admin, fail="refused"))
    assert refused.status is JobStatus.FAILED and refused.error == "没有可以处理的内容。"
    crashed = _job(app, _submit(app, admin, fail="crash"))
    assert crashed.status is JobStatus.FAILED
    assert "boom" not in crashed.error and str(crashed.id) in crashed.error
    assert "boom" in caplog.text  # the details go to the log


def test_the_same_work_is_refused_while_under_way_unless_it_died(app, admin):
    with app.app_context():
        actor = db.session.get(User, admin)
        running = Job(kind="test.count", target_id=7, params={"steps": 1},
                      created_by_id=admin, status=JobStatus.RUNNING, started_at=utcnow(),
                      heartbeat_at=utcnow())
        db.session.add(running)
        db.session.commit()
        with pytest.raises(ServiceError, match="正在进行"):
            jobs.submit("test.count", target_id=7, params={"steps": 1}, actor=actor)
        # Another target is independent work.
        assert jobs.submit("test.count", target_id=8, params={"steps": 1},
                           actor=actor).status is JobStatus.SUCCEEDED
        running.heartbeat_at = utcnow() - timedelta(hours=1)  # its process died
        db.session.commit()
        again = jobs.submit("test.count", target_id=7, params={"steps": 1}, actor=actor)
        assert again.status is JobStatus.SUCCEEDED
        assert db.session.get(Job, running.id).status is JobStatus.FAILED


def test_a_job_runs_once_even_if_delivered_twice(app, admin):
    job_id = _submit(app, admin)
    with app.app_context():
        finished_at = db.session.get(Job, job_id).finished_at
        jobs.run(job_id)  # e.g. RQ retrying a delivery
        assert db.session.get(Job, job_id).finished_at == finished_at


def test_the_thread_runner_finishes_the_job_in_the_background(make_app):
    app = make_app(JOB_RUNNER="thread")
    admin = make_user(app, Role.ADMIN, email="thread-admin@example.com")
    job_id = _submit(app, admin)
    app.extensions["job_executor"].shutdown(wait=True)
    assert _job(app, job_id).status is JobStatus.SUCCEEDED


def _redis_or_skip():
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except RedisConnectionError:
        pytest.skip(f"no Redis server at {REDIS_URL}: the RQ runner is not tested here")


def test_the_rq_runner_queues_the_job_for_a_worker(make_app):
    _redis_or_skip()
    app = make_app(JOB_RUNNER="rq", REDIS_URL=REDIS_URL,
                   JOB_QUEUE=f"test-{uuid.uuid4().hex}")
    admin = make_user(app, Role.ADMIN, email="rq-admin@example.com")
    job_id = _submit(app, admin)
    assert _job(app, job_id).status is JobStatus.QUEUED  # waiting for a worker
    with app.app_context():
        jobs.work(app, burst=True)
    job = _job(app, job_id)
    assert job.status is JobStatus.SUCCEEDED and job.summary == {"counted": 3}


def test_a_runner_needs_its_settings(make_app):
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        make_app(JOB_RUNNER="rq", REDIS_URL=None)
    with pytest.raises(RuntimeError, match="JOB_RUNNER"):
        make_app(JOB_RUNNER="cron")


def test_a_job_that_cannot_be_queued_fails_visibly_and_frees_its_target(make_app):
    app = make_app(JOB_RUNNER="rq", REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens
    admin = make_user(app, Role.ADMIN, email="queue-admin@example.com")
    with app.app_context():
        actor = db.session.get(User, admin)
        with pytest.raises(ServiceError, match="无法提交"):
            jobs.submit("test.count", target_id=7, params={"steps": 1}, actor=actor)
        assert db.session.scalars(sa.select(Job.status)).one() is JobStatus.FAILED


def test_a_run_taken_for_dead_stops_without_touching_its_successor(app, admin):
    replaced = []

    @jobs.job_kind("test.slow")
    def _slow(params, progress):
        # Meanwhile the job was taken for dead and restarted by another request.
        db.session.execute(sa.update(Job).values(started_at=utcnow() + timedelta(1)))
        db.session.commit()
        replaced.append(True)
        progress("working", 1, 2)
        return {"never": "recorded"}

    with app.app_context():
        job = jobs.submit("test.slow", target_id=1, params={},
                          actor=db.session.get(User, admin))
        db.session.expire_all()
        job = db.session.get(Job, job.id)
        assert replaced and job.status is JobStatus.RUNNING and job.summary is None


def test_two_active_jobs_for_one_target_cannot_exist(app, admin):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        for _ in range(2):
            db.session.add(Job(kind="test.count", target_id=3, params={},
                               created_by_id=admin, status=JobStatus.QUEUED))
        with pytest.raises(IntegrityError):
            db.session.commit()
