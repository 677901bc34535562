"""working calendars (versioned) and business-time SLA targets on plans

Revision ID: 20261201_0010
Revises: 20261201_0009
Create Date: 2026-12-01 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261201_0010'
down_revision = '20261201_0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendars',
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('current_version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_calendars')),
    )
    op.create_table(
        'calendar_versions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('calendar_code', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('intervals', sa.JSON(), nullable=False),
        sa.Column('holidays', sa.JSON(), nullable=True),
        sa.Column('closed_dates', sa.JSON(), nullable=False),
        sa.Column('resolved_closed_dates', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['calendar_code'], ['calendars.code'], name=op.f('fk_calendar_versions_calendar_code_calendars')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_versions')),
        sa.UniqueConstraint('calendar_code', 'version', name='uq_calendar_versions_code_version'),
    )
    with op.batch_alter_table('plans') as batch:
        batch.add_column(sa.Column('calendar_code', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('first_response_business_minutes', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('onsite_response_business_hours', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plans') as batch:
        batch.drop_column('onsite_response_business_hours')
        batch.drop_column('first_response_business_minutes')
        batch.drop_column('calendar_code')
    op.drop_table('calendar_versions')
    op.drop_table('calendars')
