"""Mail outbox: delivery state (attempts, back-off, claims, errors) and sign-up requests.

Mail is no longer sent inside the request: each outbox row now carries its delivery
state, and a message may be queued by kind (composed when delivered), so its subject and
body may be empty until then. Sign-up creates the account when a mailed link is opened:
sign_up_requests holds those links (hashed) until they expire.

Rows written before this revision were either sent (sent_at set) or, with the "outbox"
backend, stored to be sent by nobody: those are marked given up rather than sent now,
possibly with long-expired reset links.

Revision ID: c15b0e2f8b02
Revises: c15a0d1e7a01
Create Date: 2026-12-06 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c15b0e2f8b02'
down_revision = 'c15a0d1e7a01'
branch_labels = None
depends_on = None

MAIL_STATUS = sa.Enum('pending', 'sent', 'skipped', 'given_up', name='mail_status',
                      native_enum=False, create_constraint=True, length=8)

outbox = sa.table(
    'outbox_mails',
    sa.column('status', sa.String),
    sa.column('attempts', sa.Integer),
    sa.column('next_attempt_at', sa.DateTime(timezone=True)),
    sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('sent_at', sa.DateTime(timezone=True)),
    sa.column('last_error', sa.String),
    sa.column('subject', sa.String),
    sa.column('body', sa.Text),
)


def upgrade():
    with op.batch_alter_table('outbox_mails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('status', MAIL_STATUS, nullable=False,
                                      server_default='pending'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('subject', existing_type=sa.String(length=200), nullable=True)
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=True)

    op.execute(outbox.update().values(next_attempt_at=outbox.c.created_at))
    op.execute(outbox.update().where(outbox.c.sent_at.is_not(None))
               .values(status='sent', attempts=1))
    op.execute(outbox.update().where(outbox.c.sent_at.is_(None))
               .values(status='given_up',
                       last_error='queued before delivery with retries; not sent'))

    with op.batch_alter_table('outbox_mails', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=MAIL_STATUS, server_default=None)
        batch_op.alter_column('attempts', existing_type=sa.Integer(), server_default=None)
        batch_op.alter_column('next_attempt_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.create_index('ix_outbox_mails_status_next_attempt_at',
                              ['status', 'next_attempt_at'], unique=False)

    op.create_table('sign_up_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_up_requests')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sign_up_requests_token_hash'))
    )
    with op.batch_alter_table('sign_up_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_up_requests_email'), ['email'], unique=False)


def downgrade():
    with op.batch_alter_table('sign_up_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_up_requests_email'))
    op.drop_table('sign_up_requests')

    # Messages composed only at delivery have no text: the old table cannot hold them.
    op.execute(outbox.delete().where(sa.or_(outbox.c.subject.is_(None),
                                            outbox.c.body.is_(None))))
    with op.batch_alter_table('outbox_mails', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_mails_status_next_attempt_at')
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('subject', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_column('expires_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claim_token')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_constraint(batch_op.f('ck_outbox_mails_mail_status'), type_='check')
        batch_op.drop_column('status')
        batch_op.drop_column('params')
        batch_op.drop_column('kind')
