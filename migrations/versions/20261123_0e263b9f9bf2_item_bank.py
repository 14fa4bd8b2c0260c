"""Item bank: items, immutable item versions, syllabus links and reviews.

Revision ID: 0e263b9f9bf2
Revises: d72ce27ad733
Create Date: 2026-11-23 04:04:53.382908

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0e263b9f9bf2'
down_revision = 'd72ce27ad733'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('item_type', sa.Enum('SINGLE', 'MULTI', 'CASE_ANALYSIS', 'PLAN_DESIGN', 'ESSAY', name='item_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'REVIEW', 'PUBLISHED', 'SUPERSEDED', 'RETIRED', name='item_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('published_version_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_items_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('external_id', name=op.f('uq_items_external_id'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_subject_status', ['subject', 'status'], unique=False)

    op.create_table('item_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'REVIEW', 'PUBLISHED', 'SUPERSEDED', 'RETIRED', name='item_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('syllabus_version', sa.String(length=10), nullable=False),
    sa.Column('chapter_code', sa.String(length=40), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('difficulty BETWEEN 1 AND 5', name=op.f('ck_item_versions_difficulty_range')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_item_versions_author_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_versions_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_versions')),
    sa.UniqueConstraint('item_id', 'number', name=op.f('uq_item_versions_item_id_number'))
    )
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_versions_chapter_code'), ['chapter_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_versions_item_id'), ['item_id'], unique=False)

    op.create_table('item_links',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('chapter_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['item_versions.id'], name=op.f('fk_item_links_version_id_item_versions')),
    sa.PrimaryKeyConstraint('version_id', 'code', name=op.f('pk_item_links'))
    )
    with op.batch_alter_table('item_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_links_chapter_code'), ['chapter_code'], unique=False)

    op.create_table('item_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.Enum('APPROVED', 'REJECTED', name='review_decision', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_item_reviews_reviewer_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['item_versions.id'], name=op.f('fk_item_reviews_version_id_item_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_reviews'))
    )
    with op.batch_alter_table('item_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_reviews_version_id'), ['version_id'], unique=False)

    # items and item_versions point at each other: the items side is added last.
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_items_current_version_id', 'item_versions',
                                    ['current_version_id'], ['id'])
        batch_op.create_foreign_key('fk_items_published_version_id', 'item_versions',
                                    ['published_version_id'], ['id'])



def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint('fk_items_published_version_id', type_='foreignkey')
        batch_op.drop_constraint('fk_items_current_version_id', type_='foreignkey')

    with op.batch_alter_table('item_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_reviews_version_id'))

    op.drop_table('item_reviews')
    with op.batch_alter_table('item_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_links_chapter_code'))

    op.drop_table('item_links')
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_versions_item_id'))
        batch_op.drop_index(batch_op.f('ix_item_versions_chapter_code'))

    op.drop_table('item_versions')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_subject_status')

    op.drop_table('items')
