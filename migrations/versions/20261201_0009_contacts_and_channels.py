"""contacts of clients (linked identifiers, restrict_to_contacts) and per-channel ranks of services

Revision ID: 20261201_0009
Revises: 20261201_0008
Create Date: 2026-12-01 14:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261201_0009'
down_revision = '20261201_0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'client_contacts',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('client_id', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('roles', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('removed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_contacts_client_id_clients')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_client_contacts')),
    )
    with op.batch_alter_table('client_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_contacts_client_id'), ['client_id'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restrict_to_contacts', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_min_rank', sa.JSON(), nullable=True))

    with op.batch_alter_table('client_identifiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_client_identifiers_contact_id'), ['contact_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_client_identifiers_contact_id_client_contacts'), 'client_contacts', ['contact_id'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('client_identifiers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_client_identifiers_contact_id_client_contacts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_client_identifiers_contact_id'))
        batch_op.drop_column('contact_id')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_column('channel_min_rank')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('restrict_to_contacts')
    with op.batch_alter_table('client_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_contacts_client_id'))
    op.drop_table('client_contacts')
