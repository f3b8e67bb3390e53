"""campaign_recipients: no foreign keys on campaign_id and contact_id (planning 100,000 recipients)

Both are written only by the campaign code, in the transaction that read them (the campaign row locked,
the contacts from the segment query); a campaign's recipients are deleted only with its plan, and
contacts are never deleted once referenced (erasure anonymises in place). The two per-row checks were
~2 s of the ~5.5 s COPY of 100,000 recipients (bench.campaign).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 02:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.drop_constraint('fk_campaign_recipients_campaign_id_campaigns', type_='foreignkey')
        batch_op.drop_constraint('fk_campaign_recipients_contact_id_contacts', type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_campaign_recipients_campaign_id_campaigns', 'campaigns', ['campaign_id'],
                                    ['id'])
        batch_op.create_foreign_key('fk_campaign_recipients_contact_id_contacts', 'contacts', ['contact_id'],
                                    ['id'])
