"""Command-line tools: `flask --app exam_portal demo|users|audit|mail ...`."""

import gc
import itertools
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from exam_portal.extensions import db, no_write_lock
from exam_portal.models.accounts import Role
from exam_portal.models.bank import ItemPool
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.accounts import accounts, sign_ups
from exam_portal.services.item_bank import authoring, importing
from exam_portal.services.platform import audit, audit_checkpoints, mail_delivery
from question_bank import syllabus
from question_bank.subjects import Subject

demo_cli = AppGroup("demo", help="Demonstration data.")
users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="The audit log.")
bank_cli = AppGroup("bank", help="The item bank: import and export.")
attempts_cli = AppGroup("attempts", help="Practice and mock attempts.")
jobs_cli = AppGroup("jobs", help="Background jobs (results of a session).")
mail_cli = AppGroup("mail", help="The outbox: deliver queued mail, see how delivery goes.")


@demo_cli.command("seed")
def seed_demo():
    """Create the demo accounts and profiles (safe to run again)."""
    from exam_portal.commands import demo

    created = demo.seed()
    db.session.commit()
    click.echo(f"demo data ready ({created} new accounts)")
    for label, bank in (("demo item bank", demo.seed_bank()),
                        ("demo exam items (secure pool)", demo.seed_exam_bank())):
        db.session.commit()
        click.echo(f"{label}: " + "{create} new, {update} updated, {unchanged} unchanged, "
                   "{approved} approved".format(**bank))
        if bank["kept"]:
            click.echo(f"  {bank['kept']} demo items left as they are: a trainer is revising "
                       "them")
    if demo.seed_session(utcnow()):
        db.session.commit()
        click.echo(f"demo exam session open for registration: {demo.DEMO_SESSION_NAME}")
    if demo.seed_exam_in_progress(utcnow()):
        db.session.commit()
        click.echo(f"demo online exam in progress: {demo.DEMO_EXAM_NAME} (assistant@ and "
                   "intermediate@ may sit it; trainers mark under 阅卷)")
    if demo.seed_training(utcnow()):
        db.session.commit()
        click.echo(f"demo training programme: {demo.DEMO_PROGRAMME_NAME} (intermediate@ has "
                   "completed it; administrators issue under 培训项目)")
    if demo.seed_contests(utcnow()):
        db.session.commit()
        click.echo(f"demo mock contests: {demo.DEMO_CONTEST_NAME}, open for a week, and last "
                   "week's, ranked (candidates under 模考大赛)")
    if demo.seed_classes(utcnow()):
        db.session.commit()
        click.echo(f"demo class: {demo.DEMO_CLASS_NAME} of {demo.DEMO_INSTITUTION_NAME} "
                   "(trainer2@ its institution admin, trainer1@ a trainer; assistant@ "
                   "enrolled, two assignments, one overdue)")
    if demo.seed_trainer_invitations(utcnow()):
        db.session.commit()
        click.echo(f"demo trainer invitation: {demo.DEMO_INVITED_TRAINER} invited to "
                   f"{demo.DEMO_INSTITUTION_NAME} by trainer2@ (pending; its link is mailed)")
    if demo.seed_class_marking(utcnow()):
        db.session.commit()
        click.echo(f"demo marking: {demo.DEMO_MARKING_CLASS_NAME} (intermediate@ handed in a "
                   "mock paper of 实务（中级）; trainer1@ marked one answer, one waits)")
    if demo.seed_continuing_education(utcnow()):
        db.session.commit()
        click.echo("demo registration (登记): intermediate@ registered 助理, 18.5 of 72 CE "
                   "hours (登记与继续教育); two courses of the demo institution (trainer2@)")
    if demo.seed_online_courses(utcnow()):
        db.session.commit()
        click.echo(f"demo online CE course: {demo.DEMO_ONLINE_COURSE}, built from "
                   f"{demo.DEMO_CLASS_NAME}'s assignments (trainer2@)")
    told = demo.seed_notifications(utcnow())
    db.session.commit()
    if told:
        click.echo(f"demo notifications: {told} from the daily sweep (candidates under 通知; "
                   "assistant@ has today's review reminder turned on)")
    key_id = demo.ensure_signing_key(current_app)
    if key_id:
        click.echo(f"development certificate signing key {key_id} written to the instance "
                   "folder (set CERT_SIGNING_KEYS in production)")
    for login in demo.DEMO_LOGINS:
        click.echo(f"  {login.role:<9} {login.email:<32} {login.password}  {login.note}")


@users_cli.command("create-admin")
@click.argument("email")
@click.password_option(help="The new administrator's password (prompted if omitted).")
def create_admin(email, password):
    """Create an administrator account."""
    try:
        accounts.create_staff(email, password, Role.ADMIN, actor=None)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"administrator {accounts.normalise_email(email)} created")


@users_cli.command("purge-sign-ups")
def purge_sign_ups():
    """Delete sign-up requests whose links have expired (for cron, daily)."""
    purged = sign_ups.purge_sign_up_requests(utcnow())
    db.session.commit()
    click.echo(f"{purged} expired sign-up requests deleted")


@mail_cli.command("deliver")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many.")
def deliver_mail(limit):
    """Send the mail that is due, retrying failures with back-off (for cron, every
    minute; safe to run alongside the portal and other deliverers)."""
    report = mail_delivery.deliver(limit=limit)
    click.echo(f"{report.sent} sent, {report.failed} to retry, {report.given_up} given up, "
               f"{report.skipped} with nothing to send")


@mail_cli.command("status")
@click.option("--failures", default=20, show_default=True, help="How many failures to list.")
def mail_status(failures):
    """Count the outbox by state and list the latest failures (address, attempts and
    error; never the text, which may hold a reset link)."""
    for status, count in mail_delivery.status_counts().items():
        click.echo(f"{status.value} {count}")
    for row in mail_delivery.recent_failures(failures):
        click.echo(f"#{row.id} {row.created_at:%Y-%m-%d %H:%M} UTC {row.to_address} "
                   f"{row.status.value} after {row.attempts} attempts: {row.last_error}")


@audit_cli.command("verify")
@click.option("--checkpoints", "folder", metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Also check every signed checkpoint in DIR (audit-checkpoint-*.json): "
                   "the log must still hold as many events as each counted, the last of "
                   "them the one it signed.")
def verify_audit(folder):
    """Check the audit log's hash chain; with --checkpoints DIR, also that the log still
    extends every checkpoint there (none of its newest events removed, nothing
    rewritten, every checkpoint genuine). Exit 1 on any of these."""
    if folder is None:
        with no_write_lock():
            report = audit.verify_chain()
        _echo_chain(report)
        if not report.is_intact:
            raise SystemExit(1)
        click.echo("(a chain whose newest events were removed verifies too: check it "
                   "against the signed checkpoints with --checkpoints DIR)")
        return
    try:
        checked = audit_checkpoints.check_folder(folder)
    except audit_checkpoints.CheckpointError as error:
        raise click.ClickException(str(error)) from error
    _echo_chain(checked.chain)
    for verdict in checked.failures:
        click.echo(f"checkpoint {verdict.entry.path.name}: {verdict.status}: {verdict.reason}",
                   err=True)
    if checked.failures:
        click.echo(f"{len(checked.failures)} of {len(checked.verdicts)} checkpoints fail: "
                   "the log was cut short or rewritten, or a checkpoint is not genuine",
                   err=True)
    else:
        newest = checked.verdicts[-1].entry
        click.echo(f"all {len(checked.verdicts)} checkpoints are extended (newest: "
                   f"{newest.checkpoint.events} events, {newest.path.name})")
    if checked.failures or not checked.chain.is_intact:
        raise SystemExit(1)


def _echo_chain(report) -> None:
    if report.is_intact:
        click.echo(f"audit log intact: {report.count} events, head {report.head_hash}")
    else:
        click.echo(f"audit log BROKEN at event {report.broken_at}: {report.reason} "
                   f"({report.count} events read)", err=True)


@audit_cli.command("checkpoint")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
def checkpoint_audit(folder):
    """Write a signed checkpoint of the audit log (its event count and head hash, the
    time, an Ed25519 signature by the first AUDIT_CHECKPOINT_KEYS key) into FOLDER
    (default AUDIT_CHECKPOINT_DIR), as a new file only its owner can read. Refuses, and
    exits 1, if the chain is broken or no longer extends the newest checkpoint there.
    Meant for cron, e.g. every 15 minutes; keep FOLDER on storage apart from the
    database and its administrators."""
    try:
        path, checkpoint = audit_checkpoints.write_checkpoint(folder, now=utcnow())
    except audit_checkpoints.CheckpointError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"checkpoint written: {path} ({checkpoint.events} events, "
               f"head {checkpoint.head_hash})")


@audit_cli.command("new-key")
@click.option("--kid", help="The key id (letters, digits, - and _). Default: audit-YYYYMMDD.")
def new_checkpoint_key(kid):
    """Print a new Ed25519 key for checkpoints as two settings: AUDIT_CHECKPOINT_KEYS, the
    secret, only where checkpoints are written (to rotate, put the new key first and keep
    the old one after it), and AUDIT_CHECKPOINT_PUBLIC_KEYS, for machines that only
    verify."""
    from question_bank import audit_checkpoints as checkpoints
    from question_bank import certificates as signing

    key_id = kid or f"audit-{utcnow():%Y%m%d}"
    if not checkpoints.is_key_id(key_id):
        raise click.ClickException("--kid: letters, digits, - and _ only (at most 64)")
    seed = signing.new_key_seed()
    public = {key_id: signing.public_key_bytes(signing.private_key(seed))}
    click.echo(f"AUDIT_CHECKPOINT_KEYS={key_id}:{seed}")
    click.echo(f"AUDIT_CHECKPOINT_PUBLIC_KEYS={checkpoints.public_keys_setting(public)}")


@audit_cli.command("public-keys")
def checkpoint_public_keys():
    """Print the public parts of the configured checkpoint keys as the setting
    AUDIT_CHECKPOINT_PUBLIC_KEYS, for a machine that checks checkpoints but must not be
    able to sign them."""
    from question_bank import audit_checkpoints as checkpoints

    keys = audit_checkpoints.public_keys()
    if not keys:
        raise click.ClickException("no checkpoint keys are configured")
    click.echo(f"AUDIT_CHECKPOINT_PUBLIC_KEYS={checkpoints.public_keys_setting(keys)}")


@bank_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "author_email", required=True, help="Email of the trainer who imports.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option("--syllabus", "syllabus_version", default=None,
              help="Read every item against this syllabus version (e.g. 2025). Default: new "
                   "items against the version in force, updates against their item's own.")
@click.option("--pool", type=click.Choice(["open", "secure"]), default="open", show_default=True,
              help="The pool new items go to: secure (exam content) needs an exam author.")
@click.option("--partial", is_flag=True,
              help="Import every item that can be, instead of nothing when one cannot.")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False, writable=True),
              help="Write the items that cannot be imported to this XLSX file, with reasons.")
@click.option("--default-subject", type=click.Choice([s.value for s in Subject]),
              help="GIFT, Moodle XML, QTI: the subject of questions that name none.")
@click.option("--default-difficulty", type=click.IntRange(1, 5),
              help="GIFT, Moodle XML, QTI: the difficulty of every question (1-5).")
@click.option("--default-node", help="GIFT, Moodle XML, QTI: the syllabus node of questions "
                                     "whose category or tags name none (e.g. COMP_JR.04).")
@click.option("--explanation", default=None,
              help="GIFT, Moodle XML, QTI: the explanation of questions without one "
                   "(default: a placeholder to complete).")
@click.option("--encoding", type=click.Choice(["auto", "utf-8", "gb18030", "cp1252"]),
              default="auto", show_default=True, help="The encoding of a GIFT file.")
def import_bank(path, author_email, dry_run, syllabus_version, pool, partial, rejects_path,
                default_subject, default_difficulty, default_node, explanation, encoding):
    """Import items from a file of any size (XLSX, CSV, JSON; GIFT, Moodle XML, QTI with
    defaults for what they lack, as drafts to complete): all or nothing unless
    --partial."""
    # A large file becomes millions of objects that all live until the import ends:
    # the cycle collector would walk them again and again (a third of the time of
    # 100,000 items), and there is nothing for it to free.
    gc.disable()
    try:
        _import_bank(path, author_email, dry_run, syllabus_version, pool, partial,
                     rejects_path, default_subject, default_difficulty, default_node,
                     explanation, encoding)
    finally:
        gc.enable()


def _import_bank(path, author_email, dry_run, syllabus_version, pool, partial, rejects_path,
                 default_subject, default_difficulty, default_node, explanation, encoding):
    from flask_babel import gettext

    from exam_portal.services.platform import child_process
    from question_bank.formats import foreign, limits
    from question_bank.formats.limits import UnreadableFile

    author = accounts.find_by_email(author_email)
    if author is None or author.role not in (Role.TRAINER, Role.ADMIN):
        raise click.ClickException(f"{author_email} is not a trainer or administrator account")
    if syllabus_version is not None and not syllabus.is_loaded(syllabus_version):
        raise click.ClickException(f"no syllabus version {syllabus_version} is loaded")
    data = Path(path).read_bytes()
    pool = ItemPool(pool.upper())
    try:
        defaults = None
        if importing.is_foreign(path):
            defaults = importing.file_defaults(
                subject=Subject(default_subject) if default_subject else None,
                difficulty=default_difficulty, node=default_node,
                explanation=foreign.EXPLANATION_TO_WRITE if explanation is None else explanation)

        def produce():
            return importing.file_records(path, data, caps=limits.COMMAND_LINE,
                                          defaults=defaults, encoding=encoding)

        # The file is read in a second process while this one plans and writes what it
        # has read so far, all in one transaction: reading and writing 100,000 items
        # each take tens of seconds, and overlap on two cores. Nothing is committed
        # before the whole file is read and planned. Until its first records are read
        # (all of them, for a format read whole) no write lock is held, so the portal's
        # writers do not wait for the parse (SQLite has one lock for the database);
        # once writing has begun they wait for the import, as for any large write.
        reading = child_process.batches(produce, _IMPORT_BATCH)
        with no_write_lock():
            first = next(reading, [])
        rows, seen, writing = [], set(), not dry_run
        with authoring.search_entries_merged_meanwhile():
            for records in itertools.chain([first], reading):
                part = importing.plan_import(records, syllabus_version, author=author,
                                             seen=seen)
                rows += part.rows
                writing = writing and (partial or not part.errors)
                if writing:
                    importing.write_rows(part.rows, author, pool=pool)
    except UnreadableFile as error:
        db.session.rollback()
        raise click.ClickException(importing.unreadable_message(error)) from error
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    plan = importing.ImportPlan(rows)
    for row in plan.errors[:200]:
        for problem in row.problems:
            click.echo(f"item {row.record.location} [{problem.field}]: {problem.render(gettext)}",
                       err=True)
    counts = {action.value: plan.count(action) for action in importing.Action}
    click.echo("create {create}, update {update}, unchanged {unchanged}, "
               "errors {error}".format(**counts) + f", to complete {plan.completing}")
    if rejects_path and plan.errors:
        Path(rejects_path).write_bytes(importing.rejects_file(plan))
        click.echo(f"the {len(plan.errors)} items not imported are in {rejects_path}")
    if plan.errors and not partial:
        db.session.rollback()
        raise click.ClickException("nothing was imported: fix the errors above (or --partial)")
    if dry_run:
        db.session.rollback()
        return
    importing.record_import(plan, author, filename=Path(path).name, pool=pool, partial=partial)
    db.session.commit()
    importing.after_import(plan)
    click.echo("imported")


_IMPORT_BATCH = 2000


@bank_cli.command("statistics")
def open_pool_statistics():
    """Compute the open pool's item statistics afresh from candidates' first answers in
    mock papers (answer rate, discrimination, options chosen, flags for review)."""
    from exam_portal.services.delivery import open_statistics

    summary = open_statistics.compute()
    db.session.commit()
    click.echo("{versions} item versions from {answers} first answers; "
               "{flagged} flagged for review".format(**summary))


@bank_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--subject", help="Only this subject, e.g. LAW_MID.")
def export_bank(path, subject):
    """Export the newest version of every item to an XLSX, CSV or JSON file."""
    from pathlib import Path

    try:
        data, refused = importing.export_items(Path(path).suffix.lower(), subject=subject)
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    Path(path).write_bytes(data)
    for external_id, problem in refused:
        click.echo(f"left out {external_id or '(no external id)'}: {problem.render()}", err=True)
    click.echo(f"exported to {path} ({len(refused)} items left out)")


@attempts_cli.command("fit-mastery")
def fit_mastery():
    """Fit knowledge tracing (mastery per syllabus node) to candidates' marked practice
    and mock answers, calibrate predicted pass probabilities against mock results, put
    both in use, and report how well the model predicts the answers of candidates held
    out of the fit."""
    from exam_portal.models.types import utcnow
    from exam_portal.services.delivery import mastery

    row, result, mocks = mastery.fit_and_store(now=utcnow())
    db.session.commit()
    click.echo(f"model {row.id}: {result.sequences} answer sequences, "
               f"{result.answers} answers")
    if mocks:
        scaling = row.parameters["scaling"]
        click.echo(f"pass probabilities calibrated on {mocks} mock papers "
                   f"(a {scaling['a']}, b {scaling['b']})")
    else:
        click.echo("pass probabilities not calibrated: fewer than "
                   f"{mastery.MIN_MOCKS_TO_CALIBRATE} mock papers with a prediction before them")
    click.echo("run `flask attempts replay-mastery` to recompute candidates' mastery "
               "with the new parameters")
    for kind, params in (("single", result.model.single), ("multi", result.model.multi)):
        quality = result.quality[kind]
        click.echo(
            f"{kind}: p_init {params.p_init}, p_learn {params.p_learn}, "
            f"p_slip {params.p_slip}, p_guess {params.p_guess}; held out {quality.answers} "
            f"answers: log loss {quality.log_loss} (baseline {quality.baseline_log_loss}), "
            f"Brier {quality.brier} (baseline {quality.baseline_brier}), AUC {quality.auc}")


@attempts_cli.command("replay-mastery")
@click.option("--candidate", "candidate_ids", type=int, multiple=True,
              help="Only this candidate's user id (repeatable).")
def replay_mastery(candidate_ids):
    """Recompute candidates' mastery of knowledge points from all their marked practice
    and mock answers with the model in use: after a fit, or for answers marked before
    mastery was traced (safe alongside the portal: each candidate in a transaction of
    their own)."""
    from exam_portal.models.types import utcnow
    from exam_portal.services.delivery import mastery

    candidates = list(candidate_ids) or mastery.candidates_with_answers()
    answers = 0
    for candidate_id in candidates:
        answers += mastery.replay(candidate_id, now=utcnow())
        db.session.commit()
    click.echo(f"replayed {len(candidates)} candidates, {answers} answers")


@attempts_cli.command("expire")
def expire_attempts():
    """Hand in every attempt past its deadline and grace with the answers saved, and mark
    the exam papers handed in since the last run (for cron, every minute; safe to run
    again and alongside the portal)."""
    from exam_portal.models.attempts import EndedBy
    from exam_portal.models.types import utcnow
    from exam_portal.services.delivery import hand_in

    now = utcnow()
    finalised = 0
    for attempt_id in hand_in.overdue_attempt_ids(now=now):
        # One transaction each: a long backlog never holds locks for long, and an
        # attempt a candidate or another sweeper closes first is simply skipped.
        finalised += hand_in.finalise(attempt_id, now=now, ended_by=EndedBy.DEADLINE)
        db.session.commit()
    marked, failed = 0, []
    for attempt_id in hand_in.unmarked_attempt_ids():
        try:
            marked += hand_in.mark_handed_in(attempt_id, now=utcnow())
            db.session.commit()
        except Exception:  # noqa: BLE001 - one paper's failure must not stop the others
            db.session.rollback()
            current_app.logger.exception("marking attempt %s failed", attempt_id)
            failed.append(attempt_id)
    click.echo(f"{finalised} overdue attempts handed in, {marked} exam papers marked")
    if failed:
        raise click.ClickException(f"{len(failed)} papers could not be marked (attempts "
                                   f"{', '.join(map(str, failed[:20]))}); the next run "
                                   f"tries them again")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def jobs_worker(burst):
    """Run queued jobs from Redis (JOB_RUNNER=rq, the default when REDIS_URL is set)."""
    from exam_portal.services.platform import jobs

    if current_app.config["JOB_RUNNER"] != "rq":
        raise click.ClickException("JOB_RUNNER is not rq: jobs run inside the portal itself.")
    jobs.work(current_app._get_current_object(), burst=burst)


def register_commands(app: Flask) -> None:
    from exam_portal.commands.backup import backup_cli
    from exam_portal.commands.certificates import certificates_cli
    from exam_portal.commands.evidence import evidence_cli
    from exam_portal.commands.notifications import notifications_cli

    for group in (demo_cli, users_cli, audit_cli, bank_cli, attempts_cli, jobs_cli, mail_cli,
                  certificates_cli, backup_cli, evidence_cli, notifications_cli):
        app.cli.add_command(group)
