"""billing: plans' external prices and the last state applied per billing subscription

Revision ID: 20261201_0007
Revises: 20261201_0006
Create Date: 2026-12-01 14:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261201_0007'
down_revision = '20261201_0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_external_prices',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('plan_code', sa.String(length=64), nullable=False),
    sa.Column('system', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['plan_code'], ['plans.code'], name=op.f('fk_plan_external_prices_plan_code_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_external_prices'))
    )
    with op.batch_alter_table('plan_external_prices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_external_prices_plan_code'), ['plan_code'], unique=False)
        batch_op.create_index('uq_plan_external_prices_live', ['system', 'external_id'], unique=True,
                              sqlite_where=sa.text('removed_at IS NULL'), postgresql_where=sa.text('removed_at IS NULL'))

    op.create_table('billing_subscriptions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('system', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('last_applied_at', sa.DateTime(), nullable=False),
    sa.Column('last_source', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_billing_subscriptions_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_subscriptions')),
    sa.UniqueConstraint('system', 'external_id', name='uq_billing_subscriptions_system_external')
    )
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_subscriptions_client_id'), ['client_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_subscriptions_client_id'))
    op.drop_table('billing_subscriptions')
    with op.batch_alter_table('plan_external_prices', schema=None) as batch_op:
        batch_op.drop_index('uq_plan_external_prices_live', sqlite_where=sa.text('removed_at IS NULL'),
                            postgresql_where=sa.text('removed_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_plan_external_prices_plan_code'))
    op.drop_table('plan_external_prices')
