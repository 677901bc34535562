"""campaigns: the rollout campaigns, their recipients and the messages sent (one per campaign, client, step)

Revision ID: 20261201_0006
Revises: 20261201_0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261201_0006'
down_revision = '20261201_0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('contract_version', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('reminder_days', sa.JSON(), nullable=False),
    sa.Column('include_declined', sa.Boolean(), nullable=False),
    sa.Column('from_address', sa.String(length=320), nullable=True),
    sa.Column('reply_to', sa.String(length=320), nullable=True),
    sa.Column('subject_template', sa.Text(), nullable=True),
    sa.Column('text_template', sa.Text(), nullable=True),
    sa.Column('html_template', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('paused_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['contract_version'], ['contract_versions.version'],
                            name=op.f('fk_campaigns_contract_version_contract_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_contract_version'), ['contract_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaigns_status'), ['status'], unique=False)
        batch_op.create_index('uq_campaigns_live_version', ['contract_version'], unique=True,
                              sqlite_where=sa.text("status IN ('running', 'paused')"),
                              postgresql_where=sa.text("status IN ('running', 'paused')"))

    op.create_table('campaign_recipients',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('campaign_id', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('unsubscribed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_recipients_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_campaign_recipients_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_recipients')),
    sa.UniqueConstraint('campaign_id', 'client_id', name='uq_campaign_recipients_campaign_client')
    )
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_recipients_client_id'), ['client_id'], unique=False)

    op.create_table('campaign_messages',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('campaign_id', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('message_id', sa.String(length=400), nullable=False),
    sa.Column('signing_link_id', sa.String(length=40), nullable=True),
    sa.Column('unsubscribe_token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_messages_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_campaign_messages_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_messages')),
    sa.UniqueConstraint('campaign_id', 'client_id', 'step', name='uq_campaign_messages_campaign_client_step'),
    sa.UniqueConstraint('message_id', name=op.f('uq_campaign_messages_message_id')),
    sa.UniqueConstraint('unsubscribe_token_hash', name=op.f('uq_campaign_messages_unsubscribe_token_hash'))
    )
    with op.batch_alter_table('campaign_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_messages_client_id'), ['client_id'], unique=False)


def downgrade() -> None:
    op.drop_table('campaign_messages')
    op.drop_table('campaign_recipients')
    op.drop_table('campaigns')
