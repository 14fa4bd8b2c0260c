"""Configuration: development defaults, environment overrides, production checks."""

import os
from pathlib import Path

DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - refused in production
# Written by the demo seed in development only (the instance folder is git-ignored).
DEV_SIGNING_KEY_FILE = "cert_signing_keys"


class Config:
    """Development defaults; every secret here is refused in production."""

    SECRET_KEY = DEFAULT_SECRET_KEY
    # Keys for the resident ID: AEAD encryption and the keyed blind index. When unset
    # they are derived from SECRET_KEY (HKDF, distinct labels); production should set
    # them so that rotating SECRET_KEY does not make stored IDs unreadable.
    DATA_ENCRYPTION_KEY = None
    BLIND_INDEX_KEY = None

    SQLALCHEMY_DATABASE_URI = None  # filled in by the factory (instance/portal.db)
    # No pre-ping: it would cost every request a round trip. A connection lost under
    # the pool (database restarted) fails one request with 503, which clients retry,
    # and SQLAlchemy then replaces every pooled connection (errors.py).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False}
    REDIS_URL = None
    # Unset: http://127.0.0.1:<PORT>, the address scripts/run.sh serves on.
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")

    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 256
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - an algorithm name, not a secret
    PASSWORD_RESET_MAX_AGE_SECONDS = 3600
    # A sign-up link (the account is created when it is opened) lasts this long.
    SIGN_UP_LINK_MAX_AGE_SECONDS = 24 * 3600
    REAUTH_WINDOW_SECONDS = 600

    # Rate-limit counters: Redis when REDIS_URL is set. "memory://" keeps them in each
    # worker process, so 4 gunicorn workers would allow 4x every documented limit;
    # production refuses that unless RATELIMIT_PER_PROCESS says the portal runs as one
    # process (and then says at start which limits are per process).
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_PER_PROCESS = False
    RATELIMIT_HEADERS_ENABLED = True
    # How many proxies in front of the portal append to X-Forwarded-For (and set
    # X-Forwarded-Proto): Werkzeug's ProxyFix believes exactly that many hops. 0 (the
    # default) believes none, so a client cannot choose the address its logins are
    # counted under; behind the TLS proxy every client would otherwise share its address.
    TRUSTED_PROXIES = 0
    # Login throttling (services/login_throttle.py): failures that pass with no wait,
    # per account for anonymous clients (a browser with the account's device cookie
    # has a count of its own) and per client address; after them each failure opens
    # a wait doubling from 1 s up to LOGIN_MAX_WAIT_SECONDS. The address allows more:
    # an exam centre puts hundreds of candidates, and their typos, behind one address.
    # Settings that would let an account take over 100 failures an hour (ASVS 2.2.1)
    # are refused at start.
    LOGIN_FREE_FAILURES_PER_ACCOUNT = 10
    LOGIN_FREE_FAILURES_PER_ADDRESS = 100
    LOGIN_MAX_WAIT_SECONDS = 60
    RESET_LIMIT_PER_ADDRESS = "5 per minute;30 per hour"
    SIGN_UP_LIMIT_PER_ADDRESS = "10 per minute;100 per hour"

    # Mail is queued in the outbox (outbox_mails) by the request and sent by a deliverer:
    # a job the runner starts after the commit (thread or rq; none with inline) and
    # `flask --app exam_portal mail deliver` from cron, which also makes the retries.
    # console: printed (development); outbox: kept in the table only (tests); smtp: sent.
    MAIL_BACKEND = "console"
    MAIL_SENDER = "no-reply@exam-portal.local"
    SMTP_HOST = None
    SMTP_PORT = 587
    SMTP_USERNAME = None
    SMTP_PASSWORD = None
    SMTP_USE_TLS = True  # STARTTLS, the server's certificate checked
    SMTP_CA_FILE = None  # a CA bundle for a relay whose certificate no public CA signed
    SMTP_TIMEOUT_SECONDS = 10
    # A failed message waits MAIL_RETRY_BASE_SECONDS, then twice as long each time, at
    # most MAIL_RETRY_MAX_SECONDS, and is given up after MAIL_MAX_ATTEMPTS attempts
    # (defaults: 1, 2, 4 … 32, 60, 60 minutes; about four hours in all).
    MAIL_MAX_ATTEMPTS = 10
    MAIL_RETRY_BASE_SECONDS = 60
    MAIL_RETRY_MAX_SECONDS = 3600
    # A deliverer's claim on a message lapses after this long (it died while sending):
    # another deliverer may then send it. Longer than any one send can take.
    MAIL_CLAIM_SECONDS = 300
    # Messages one delivery run sends at most; the next run takes the rest.
    MAIL_BATCH_SIZE = 500

    # Eligibility counts experience to 31 Dec of the coming exam year unless set.
    ELIGIBILITY_CUTOFF = None  # "YYYY-MM-DD"
    EXAM_MONTH = 5

    # Practice and mock papers. Saves and submits are accepted this long after the
    # deadline, for requests already on their way when time ran out.
    ATTEMPT_GRACE_SECONDS = 60
    # Practice sets and mock papers one candidate may start in a window of this many
    # minutes: every start draws and stores a paper (up to 50 rows), so a script
    # could otherwise fill the database. An open mock paper or today's daily set is
    # resumed, not counted; exam sittings are never limited. 0 turns the limit off.
    PRACTICE_START_LIMIT = 30
    PRACTICE_START_WINDOW_MINUTES = 60
    # Error reports (纠错) one candidate may file in a day: each lands on the trainers'
    # list, so a script could otherwise bury it. One open report per item regardless.
    ERROR_REPORT_DAILY_LIMIT = 20
    # Spaced review: the chance of recall at which a card falls due (FSRS's desired
    # retention, in per cent: higher means more reviews), and the longest interval.
    REVIEW_RETENTION_PERCENT = 90
    REVIEW_MAX_INTERVAL_DAYS = 365
    # Seconds the solver may spend building a subject's exam forms from its plan.
    FORM_ASSEMBLY_SECONDS = 30
    # A mock paper avoids items already in more than this share of the papers drawn
    # (counted in item_exposures), when the bank has enough others.
    MOCK_MAX_EXPOSURE = 0.3
    # Law items must be in force on this date (YYYY-MM-DD); default: 31 Dec of the
    # year before the coming exam.
    LAW_CUTOFF = None

    # SQLite (the embedded database) in WAL mode: NORMAL survives a crash of the
    # portal or of a worker with every committed answer, but a power cut or an
    # operating-system crash can lose the last commits; FULL also survives those, at
    # an fsync per commit (about half the save rate here). PostgreSQL, the production
    # database, always commits durably.
    SQLITE_SYNCHRONOUS = "NORMAL"

    # Background jobs (a session's results) and mail delivery: "rq" queues them in Redis
    # for `flask --app exam_portal jobs worker`; "thread" runs them in the portal's own
    # process; "inline" runs jobs within the request and leaves mail for `flask mail
    # deliver` (tests). Unset: "rq" when REDIS_URL is set, "thread" otherwise.
    JOB_RUNNER = None
    JOB_QUEUE = "exam-portal"
    # A running job that has not reported progress for this long is taken as dead
    # (its process stopped) and may be started again.
    JOB_STALE_SECONDS = 600

    # Double marking: when two markers' totals for an answer differ by more than this
    # many points, a third marker adjudicates.
    MARKING_ADJUDICATION_THRESHOLD = "3"

    # Certificates. Signing keys: "kid:seed,kid:seed" (Ed25519, 32-byte seeds in
    # base64url); the first signs, the rest still verify after a rotation. Unset in
    # development: the demo seed writes a development key into the instance folder.
    # Production refuses to start without one.
    CERT_SIGNING_KEYS = None
    CERT_ISSUER = "社会工作者考试门户运营单位"
    CERT_TITLE_QUALIFICATION = "社会工作者职业资格考试合格证明"
    # Training certificates (completed training programmes) are the portal's own: their
    # issuer defaults to CERT_ISSUER, the operator, never a state body.
    CERT_TITLE_TRAINING = "社会工作者考试培训结业证书"
    CERT_ISSUER_TRAINING = None
    VERIFY_LIMIT_PER_ADDRESS = "30 per minute;300 per hour"

    # Registration (登记) and continuing education (DOMAIN.md §6): register within
    # 12 months of passing, a period of 3 years, renewal in its last 3 months, CE hours
    # per period by level, shortfall notices 6 and 3 months before a period ends
    # (question_bank/continuing_education.py). CE_RENEWAL_AUTO_APPROVE: a renewal
    # applied for with the hours met is approved at once, with no administrator.
    CE_RULES = {"register_within_months": 12, "period_years": 3, "renewal_window_months": 3,
                "hours_required": {"ASSISTANT": 72, "INTERMEDIATE": 90, "SENIOR": 90},
                "shortfall_notice_months": [6, 3]}
    CE_RENEWAL_AUTO_APPROVE = False
    CE_TRANSCRIPT_TITLE = "继续教育学时证明"
    # Files that jobs produce (a session's certificate PDFs as a ZIP). Unset: the
    # instance folder's exports/. With several app servers or RQ workers on other
    # machines, point it at storage they all share.
    EXPORT_DIR = None

    # Registration evidence (candidates' documents and ID photos), never served as
    # static files. "local": the folder EVIDENCE_DIR (unset: the instance folder's
    # evidence/), readable by the portal's own user only; with several app servers it
    # must be storage they all share, or use "s3": a bucket of any S3-compatible
    # service (EVIDENCE_S3_ENDPOINT unset: AWS itself), with the credentials in the
    # usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or an instance
    # role. Addressing style: "auto", "path" (MinIO's default) or "virtual" (needed by
    # some clouds' object storage).
    EVIDENCE_STORE = "local"
    EVIDENCE_DIR = None
    EVIDENCE_S3_BUCKET = None
    EVIDENCE_S3_ENDPOINT = None
    EVIDENCE_S3_REGION = None
    EVIDENCE_S3_ADDRESSING_STYLE = "auto"
    # A document attached to a registration is at most this large (the ID photo has
    # its own limits, question_bank/data/photo_rules.json); at most MAX_CONTENT_LENGTH.
    EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
    # Documents are kept this many days after their session's exam ended, then
    # `flask evidence purge` deletes them: five years (leap days included).
    EVIDENCE_RETENTION_DAYS = 1827

    # Checkpoints of the audit log, kept outside the database (`flask audit checkpoint`
    # from cron; `flask audit verify --checkpoints DIR`). Keys: "kid:seed,kid:seed"
    # (Ed25519, as CERT_SIGNING_KEYS, but never the same key); the first signs, the rest
    # still verify. Public keys "kid:key,..." (32-byte raw keys in base64url) only verify:
    # a retired key whose seed is destroyed, or a machine that checks and never signs.
    # Production refuses to start with neither. The folder is where `audit checkpoint`
    # writes when given none: storage the operator keeps apart from the database.
    AUDIT_CHECKPOINT_KEYS = None
    AUDIT_CHECKPOINT_PUBLIC_KEYS = None
    AUDIT_CHECKPOINT_DIR = None

    # Notifications: mail of a notice sent to many users at once (a session's results)
    # is spread out at this many messages a minute after any still waiting, so the
    # relay is not flooded (0: as fast as the deliverer goes). Further channels (SMS,
    # WeChat templates): "package.module:ClassName, …", each a notifications.Channel.
    NOTIFICATION_MAIL_PER_MINUTE = 480  # below MAIL_BATCH_SIZE: the cron run keeps up
    NOTIFICATION_CHANNELS = None

    PAGE_SIZE = 20
    PRODUCTION = False


# Environment variable -> config key; a FLASK_ prefix is read as well (from_prefixed_env).
_ENV_KEYS = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "REDIS_URL": "REDIS_URL",
    "PUBLIC_BASE_URL": "PUBLIC_BASE_URL",
    "DATA_ENCRYPTION_KEY": "DATA_ENCRYPTION_KEY",
    "BLIND_INDEX_KEY": "BLIND_INDEX_KEY",
    "MAIL_BACKEND": "MAIL_BACKEND",
    "MAIL_SENDER": "MAIL_SENDER",
    "SMTP_HOST": "SMTP_HOST",
    "SMTP_PORT": "SMTP_PORT",
    "SMTP_USERNAME": "SMTP_USERNAME",
    "SMTP_PASSWORD": "SMTP_PASSWORD",
    "SMTP_USE_TLS": "SMTP_USE_TLS",
    "SMTP_CA_FILE": "SMTP_CA_FILE",
    "SMTP_TIMEOUT_SECONDS": "SMTP_TIMEOUT_SECONDS",
    "MAIL_MAX_ATTEMPTS": "MAIL_MAX_ATTEMPTS",
    "MAIL_RETRY_BASE_SECONDS": "MAIL_RETRY_BASE_SECONDS",
    "MAIL_RETRY_MAX_SECONDS": "MAIL_RETRY_MAX_SECONDS",
    "MAIL_CLAIM_SECONDS": "MAIL_CLAIM_SECONDS",
    "SIGN_UP_LINK_MAX_AGE_SECONDS": "SIGN_UP_LINK_MAX_AGE_SECONDS",
    "ELIGIBILITY_CUTOFF": "ELIGIBILITY_CUTOFF",
    "PASSWORD_MIN_LENGTH": "PASSWORD_MIN_LENGTH",
    "REAUTH_WINDOW_SECONDS": "REAUTH_WINDOW_SECONDS",
    "ATTEMPT_GRACE_SECONDS": "ATTEMPT_GRACE_SECONDS",
    "REVIEW_RETENTION_PERCENT": "REVIEW_RETENTION_PERCENT",
    "REVIEW_MAX_INTERVAL_DAYS": "REVIEW_MAX_INTERVAL_DAYS",
    "PRACTICE_START_LIMIT": "PRACTICE_START_LIMIT",
    "PRACTICE_START_WINDOW_MINUTES": "PRACTICE_START_WINDOW_MINUTES",
    "LAW_CUTOFF": "LAW_CUTOFF",
    "FORM_ASSEMBLY_SECONDS": "FORM_ASSEMBLY_SECONDS",
    "SQLITE_SYNCHRONOUS": "SQLITE_SYNCHRONOUS",
    "JOB_RUNNER": "JOB_RUNNER",
    "NOTIFICATION_MAIL_PER_MINUTE": "NOTIFICATION_MAIL_PER_MINUTE",
    "NOTIFICATION_CHANNELS": "NOTIFICATION_CHANNELS",
    "MARKING_ADJUDICATION_THRESHOLD": "MARKING_ADJUDICATION_THRESHOLD",
    "CERT_SIGNING_KEYS": "CERT_SIGNING_KEYS",
    "CERT_ISSUER": "CERT_ISSUER",
    "CERT_TITLE_QUALIFICATION": "CERT_TITLE_QUALIFICATION",
    "CERT_TITLE_TRAINING": "CERT_TITLE_TRAINING",
    "CERT_ISSUER_TRAINING": "CERT_ISSUER_TRAINING",
    "CE_RENEWAL_AUTO_APPROVE": "CE_RENEWAL_AUTO_APPROVE",
    "EXPORT_DIR": "EXPORT_DIR",
    "EVIDENCE_STORE": "EVIDENCE_STORE",
    "EVIDENCE_DIR": "EVIDENCE_DIR",
    "EVIDENCE_S3_BUCKET": "EVIDENCE_S3_BUCKET",
    "EVIDENCE_S3_ENDPOINT": "EVIDENCE_S3_ENDPOINT",
    "EVIDENCE_S3_REGION": "EVIDENCE_S3_REGION",
    "EVIDENCE_S3_ADDRESSING_STYLE": "EVIDENCE_S3_ADDRESSING_STYLE",
    "EVIDENCE_MAX_BYTES": "EVIDENCE_MAX_BYTES",
    "EVIDENCE_RETENTION_DAYS": "EVIDENCE_RETENTION_DAYS",
    "AUDIT_CHECKPOINT_KEYS": "AUDIT_CHECKPOINT_KEYS",
    "AUDIT_CHECKPOINT_PUBLIC_KEYS": "AUDIT_CHECKPOINT_PUBLIC_KEYS",
    "AUDIT_CHECKPOINT_DIR": "AUDIT_CHECKPOINT_DIR",
    "TRUSTED_PROXIES": "TRUSTED_PROXIES",
    "RATELIMIT_PER_PROCESS": "RATELIMIT_PER_PROCESS",
    "LOGIN_FREE_FAILURES_PER_ACCOUNT": "LOGIN_FREE_FAILURES_PER_ACCOUNT",
    "LOGIN_FREE_FAILURES_PER_ADDRESS": "LOGIN_FREE_FAILURES_PER_ADDRESS",
    "LOGIN_MAX_WAIT_SECONDS": "LOGIN_MAX_WAIT_SECONDS",
}
_INT_KEYS = {"SMTP_PORT", "PASSWORD_MIN_LENGTH", "REAUTH_WINDOW_SECONDS",
             "ATTEMPT_GRACE_SECONDS", "REVIEW_RETENTION_PERCENT", "REVIEW_MAX_INTERVAL_DAYS",
             "SMTP_TIMEOUT_SECONDS",
             "MAIL_MAX_ATTEMPTS", "MAIL_RETRY_BASE_SECONDS", "MAIL_RETRY_MAX_SECONDS",
             "MAIL_CLAIM_SECONDS", "SIGN_UP_LINK_MAX_AGE_SECONDS", "PRACTICE_START_LIMIT",
             "PRACTICE_START_WINDOW_MINUTES", "TRUSTED_PROXIES",
             "LOGIN_FREE_FAILURES_PER_ACCOUNT", "LOGIN_FREE_FAILURES_PER_ADDRESS",
             "LOGIN_MAX_WAIT_SECONDS", "EVIDENCE_MAX_BYTES", "EVIDENCE_RETENTION_DAYS",
             "FORM_ASSEMBLY_SECONDS", "NOTIFICATION_MAIL_PER_MINUTE"}
_BOOL_KEYS = {"SMTP_USE_TLS", "RATELIMIT_PER_PROCESS", "CE_RENEWAL_AUTO_APPROVE"}
_TRUE = ("1", "true", "yes", "on")


def settings_from_env(environ=None) -> dict:
    """Read the documented environment variables into config keys."""
    environ = os.environ if environ is None else environ
    settings = {}
    for env_name, key in _ENV_KEYS.items():
        value = environ.get(env_name)
        if not value:
            continue
        if key in _INT_KEYS:
            try:
                settings[key] = int(value)
            except ValueError as error:
                raise RuntimeError(f"{env_name} must be a whole number.") from error
        elif key in _BOOL_KEYS:
            settings[key] = value.strip().lower() in _TRUE
        else:
            settings[key] = value
    port = environ.get("PORT")
    if port:
        # scripts/run.sh serves on PORT: links printed on certificates and mailed must
        # reach this portal, not the default port, unless a public address is given.
        if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            raise RuntimeError(f"PORT must be a number from 1 to 65535, not {port!r}.")
        settings.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{int(port)}")
    if environ.get("PORTAL_ENV") == "production":
        settings["PRODUCTION"] = True
    return settings


def finish_config(app) -> None:
    """Fill derived settings and refuse an unsafe production configuration."""
    config = app.config
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'portal.db'}"
        )
    if not config.get("EXPORT_DIR"):
        config["EXPORT_DIR"] = str(Path(app.instance_path) / "exports")
    _check_evidence_store(app)
    if str(config["SQLITE_SYNCHRONOUS"]).upper() not in ("NORMAL", "FULL"):
        raise RuntimeError("SQLITE_SYNCHRONOUS must be NORMAL or FULL.")
    config["SQLITE_SYNCHRONOUS"] = str(config["SQLITE_SYNCHRONOUS"]).upper()
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        # psycopg 3 is the installed driver; plain URLs from hosting panels name none.
        config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[13:]
    if not config.get("JOB_RUNNER"):
        config["JOB_RUNNER"] = "rq" if config.get("REDIS_URL") else "thread"
    if config["JOB_RUNNER"] not in ("rq", "thread", "inline"):
        raise RuntimeError("JOB_RUNNER must be rq, thread or inline.")
    if config["JOB_RUNNER"] == "rq" and not config.get("REDIS_URL"):
        raise RuntimeError("JOB_RUNNER=rq needs REDIS_URL.")
    if config["MAIL_BACKEND"] not in ("console", "outbox", "smtp"):
        raise RuntimeError("MAIL_BACKEND must be console, outbox or smtp.")
    if config["MAIL_BACKEND"] == "smtp" and not config.get("SMTP_HOST"):
        raise RuntimeError("MAIL_BACKEND=smtp needs SMTP_HOST.")
    if config.get("REDIS_URL") and config["RATELIMIT_STORAGE_URI"] == "memory://":
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]
    hops = config["TRUSTED_PROXIES"]
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
        raise RuntimeError("TRUSTED_PROXIES must be a whole number of proxy hops (0 or more).")
    if not 70 <= config["REVIEW_RETENTION_PERCENT"] <= 97:
        raise RuntimeError("REVIEW_RETENTION_PERCENT must be from 70 to 97.")
    if not 1 <= config["REVIEW_MAX_INTERVAL_DAYS"] <= 36500:
        raise RuntimeError("REVIEW_MAX_INTERVAL_DAYS must be from 1 to 36500.")
    key_file = Path(app.instance_path) / DEV_SIGNING_KEY_FILE
    if not config.get("CERT_SIGNING_KEYS") and not config["PRODUCTION"] and key_file.exists():
        config["CERT_SIGNING_KEYS"] = key_file.read_text(encoding="utf-8").strip()
    if config.get("CERT_SIGNING_KEYS"):
        from question_bank.certificates import parse_keys

        try:
            parse_keys(config["CERT_SIGNING_KEYS"])
        except ValueError as error:
            raise RuntimeError(f"CERT_SIGNING_KEYS: {error}") from error
    _check_checkpoint_keys(config)
    if config["PRODUCTION"]:
        if config["SECRET_KEY"] in (None, "", DEFAULT_SECRET_KEY):
            raise RuntimeError(
                "Refusing to start in production with the default SECRET_KEY: "
                "set the SECRET_KEY environment variable."
            )
        if not config.get("CERT_SIGNING_KEYS"):
            raise RuntimeError("Refusing to start in production without CERT_SIGNING_KEYS "
                               "(the Ed25519 keys that sign certificates).")
        if not (config.get("AUDIT_CHECKPOINT_KEYS")
                or config.get("AUDIT_CHECKPOINT_PUBLIC_KEYS")):
            raise RuntimeError(
                "Refusing to start in production without AUDIT_CHECKPOINT_KEYS (the Ed25519 "
                "key that signs the audit log's checkpoints; make one with `flask --app "
                "exam_portal audit new-key`). App servers that never write checkpoints may "
                "hold only its public part, AUDIT_CHECKPOINT_PUBLIC_KEYS.")
        if limits_per_process(config) and not config["RATELIMIT_PER_PROCESS"]:
            raise RuntimeError(
                "Refusing to start in production with rate limits kept in each worker's "
                "memory (N workers would allow N times every limit): set REDIS_URL so "
                "all workers share them, or RATELIMIT_PER_PROCESS=1 if the portal runs "
                "as a single process.")
        if config["MAIL_BACKEND"] == "console":
            config["MAIL_BACKEND"] = "smtp" if config.get("SMTP_HOST") else "outbox"
        config["SESSION_COOKIE_SECURE"] = True


def _check_evidence_store(app) -> None:
    """Fill EVIDENCE_DIR; refuse an unknown store, a bucket-less s3 store, a folder
    under the static folder (where anyone could download a candidate's documents), and
    a size cap or retention that cannot work."""
    config = app.config
    limit = config["EVIDENCE_MAX_BYTES"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1 or (
            config.get("MAX_CONTENT_LENGTH") and limit > config["MAX_CONTENT_LENGTH"]):
        raise RuntimeError("EVIDENCE_MAX_BYTES must be a positive number of bytes, at most "
                           "MAX_CONTENT_LENGTH (a larger upload is refused before it is read).")
    days = config["EVIDENCE_RETENTION_DAYS"]
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise RuntimeError("EVIDENCE_RETENTION_DAYS must be a whole number of days (1 or more).")
    if config["EVIDENCE_STORE"] not in ("local", "s3"):
        raise RuntimeError("EVIDENCE_STORE must be local or s3.")
    if config["EVIDENCE_STORE"] == "s3":
        if not config.get("EVIDENCE_S3_BUCKET"):
            raise RuntimeError("EVIDENCE_STORE=s3 needs EVIDENCE_S3_BUCKET.")
        if config["EVIDENCE_S3_ADDRESSING_STYLE"] not in ("auto", "path", "virtual"):
            raise RuntimeError("EVIDENCE_S3_ADDRESSING_STYLE must be auto, path or virtual.")
        return
    if not config.get("EVIDENCE_DIR"):
        config["EVIDENCE_DIR"] = str(Path(app.instance_path) / "evidence")
    folder = Path(config["EVIDENCE_DIR"]).resolve()
    if app.static_folder and folder.is_relative_to(Path(app.static_folder).resolve()):
        raise RuntimeError("EVIDENCE_DIR must not be inside the static folder, "
                           "which the web server serves to anyone.")


def _check_checkpoint_keys(config) -> None:
    """Each checkpoint key setting must parse; a key id names one key in both; and no
    checkpoint key may sign certificates too (keys for two jobs are two keys: the one
    that must sit on the app servers then cannot also vouch for the audit log)."""
    from question_bank import audit_checkpoints, certificates

    public = {}
    if config.get("AUDIT_CHECKPOINT_KEYS"):
        try:
            keys = certificates.parse_keys(config["AUDIT_CHECKPOINT_KEYS"])
        except ValueError as error:
            raise RuntimeError(f"AUDIT_CHECKPOINT_KEYS: {error}") from error
        public = {key_id: certificates.public_key_bytes(key) for key_id, key in keys}
        for key_id in public:
            if not audit_checkpoints.is_key_id(key_id):  # stricter than a certificate's
                raise RuntimeError(f"AUDIT_CHECKPOINT_KEYS: key id {key_id!r}: letters, "
                                   "digits, - and _ only (at most 64)")
        if config.get("CERT_SIGNING_KEYS"):
            certificate_keys = {certificates.public_key_bytes(key) for _, key
                                in certificates.parse_keys(config["CERT_SIGNING_KEYS"])}
            if certificate_keys & set(public.values()):
                raise RuntimeError("AUDIT_CHECKPOINT_KEYS: a checkpoint key must not be a "
                                   "certificate signing key (CERT_SIGNING_KEYS) too")
    if config.get("AUDIT_CHECKPOINT_PUBLIC_KEYS"):
        try:
            listed = audit_checkpoints.parse_public_keys(config["AUDIT_CHECKPOINT_PUBLIC_KEYS"])
        except ValueError as error:
            raise RuntimeError(f"AUDIT_CHECKPOINT_PUBLIC_KEYS: {error}") from error
        for key_id, raw in listed.items():
            if public.get(key_id, raw) != raw:
                raise RuntimeError(f"AUDIT_CHECKPOINT_PUBLIC_KEYS: key {key_id} is not the "
                                   "public part of the AUDIT_CHECKPOINT_KEYS key of that id")


def limits_per_process(config) -> bool:
    """Whether rate-limit counters live in each process's memory, unshared."""
    return str(config["RATELIMIT_STORAGE_URI"]).startswith("memory://")
