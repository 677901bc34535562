"""ui_sessions: web page sessions held server-side, so signing out ends them

Revision ID: 20261201_0002
Revises: 20261125_0001
Create Date: 2026-12-01 14:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261201_0002'
down_revision = '20261125_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ui_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ui_sessions'))
    )
    with op.batch_alter_table('ui_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ui_sessions_key_hash'), ['key_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ui_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ui_sessions_key_hash'))
    op.drop_table('ui_sessions')
