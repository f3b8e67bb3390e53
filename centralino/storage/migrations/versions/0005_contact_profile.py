"""contacts get a language, custom attributes and tags

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('contacts', sa.Column('language', sa.String(length=16), nullable=True))
    op.add_column('contacts', sa.Column('attributes', centralino.storage.types.Json, nullable=False,
                                        server_default=sa.text("'{}'")))
    op.create_table(
        'contact_tags',
        sa.Column('contact_id', centralino.storage.types.Id, nullable=False),
        sa.Column('tag', sa.String(length=100), nullable=False),
        sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_tags_contact_id_contacts')),
        sa.PrimaryKeyConstraint('contact_id', 'tag', name=op.f('pk_contact_tags')),
    )
    op.create_index('ix_contact_tags_tag', 'contact_tags', ['tag'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_contact_tags_tag', table_name='contact_tags')
    op.drop_table('contact_tags')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('attributes')
        batch_op.drop_column('language')
