"""at most one live membership per client, one contract version per publication moment

Revision ID: 20261201_0003
Revises: 20261201_0002
Create Date: 2026-12-01 14:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261201_0003'
down_revision = '20261201_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Races of the first release may have left several live memberships for one client: the newest
    # stays live, the others become history (superseded when they were made), so the index can hold.
    op.execute(
        "UPDATE memberships SET superseded_at = created_at WHERE superseded_at IS NULL AND EXISTS ("
        " SELECT 1 FROM memberships newer WHERE newer.client_id = memberships.client_id"
        " AND newer.superseded_at IS NULL AND (newer.created_at > memberships.created_at"
        " OR (newer.created_at = memberships.created_at AND newer.id > memberships.id)))"
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index('uq_memberships_live', ['client_id'], unique=True,
                              sqlite_where=sa.text('superseded_at IS NULL'), postgresql_where=sa.text('superseded_at IS NULL'))
    with op.batch_alter_table('contract_versions', schema=None) as batch_op:
        batch_op.create_index('uq_contract_versions_published_at', ['published_at'], unique=True,
                              sqlite_where=sa.text('published_at IS NOT NULL'),
                              postgresql_where=sa.text('published_at IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('contract_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_contract_versions_published_at', sqlite_where=sa.text('published_at IS NOT NULL'),
                            postgresql_where=sa.text('published_at IS NOT NULL'))
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_memberships_live', sqlite_where=sa.text('superseded_at IS NULL'),
                            postgresql_where=sa.text('superseded_at IS NULL'))
