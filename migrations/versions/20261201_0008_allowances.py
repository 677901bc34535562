"""allowances: plan allowances, block grants, the usage ledger and its legs

Revision ID: 20261201_0008
Revises: 20261201_0007
Create Date: 2026-12-01 14:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261201_0008'
down_revision = '20261201_0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_allowances',
    sa.Column('plan_code', sa.String(length=64), nullable=False),
    sa.Column('allowances', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['plan_code'], ['plans.code'], name=op.f('fk_plan_allowances_plan_code_plans')),
    sa.PrimaryKeyConstraint('plan_code', name=op.f('pk_plan_allowances'))
    )
    op.create_table('allowance_grants',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('amount_q', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_allowance_grants_client_id_clients')),
    sa.ForeignKeyConstraint(['service_code'], ['services.code'], name=op.f('fk_allowance_grants_service_code_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allowance_grants'))
    )
    with op.batch_alter_table('allowance_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allowance_grants_client_id'), ['client_id'], unique=False)

    op.create_table('allowance_usage',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('units_q', sa.BigInteger(), nullable=False),
    sa.Column('overage_q', sa.BigInteger(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('ticket_ref', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('reverses_id', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_allowance_usage_client_id_clients')),
    sa.ForeignKeyConstraint(['reverses_id'], ['allowance_usage.id'], name=op.f('fk_allowance_usage_reverses_id_allowance_usage')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allowance_usage')),
    sa.UniqueConstraint('client_id', 'idempotency_key', name='uq_allowance_usage_client_key'),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_allowance_usage_reverses_id'))
    )
    with op.batch_alter_table('allowance_usage', schema=None) as batch_op:
        batch_op.create_index('ix_allowance_usage_client_created', ['client_id', 'created_at', 'id'], unique=False)

    op.create_table('allowance_legs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('usage_id', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('pool', sa.String(length=16), nullable=False),
    sa.Column('grant_id', sa.String(length=40), nullable=True),
    sa.Column('period_start', sa.DateTime(), nullable=False),
    sa.Column('units_q', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['usage_id'], ['allowance_usage.id'], name=op.f('fk_allowance_legs_usage_id_allowance_usage')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allowance_legs'))
    )
    with op.batch_alter_table('allowance_legs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allowance_legs_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allowance_legs_usage_id'), ['usage_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('allowance_legs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allowance_legs_usage_id'))
        batch_op.drop_index(batch_op.f('ix_allowance_legs_client_id'))
    op.drop_table('allowance_legs')
    with op.batch_alter_table('allowance_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_allowance_usage_client_created')
    op.drop_table('allowance_usage')
    with op.batch_alter_table('allowance_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allowance_grants_client_id'))
    op.drop_table('allowance_grants')
    op.drop_table('plan_allowances')
