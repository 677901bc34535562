"""signing links, contract documents, click-through evidence and the mail outbox

Revision ID: 20261201_0005
Revises: 20261201_0004
Create Date: 2026-12-01 14:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261201_0005'
down_revision = '20261201_0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mail_outbox',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('message_id', sa.String(length=400), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=1000), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('ref_kind', sa.String(length=32), nullable=True),
    sa.Column('ref_id', sa.String(length=80), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    sa.UniqueConstraint('message_id', name=op.f('uq_mail_outbox_message_id'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_mail_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_mail_outbox_ref', ['ref_kind', 'ref_id'], unique=False)

    op.create_table('contract_documents',
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['version'], ['contract_versions.version'], name=op.f('fk_contract_documents_version_contract_versions')),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_contract_documents'))
    )
    op.create_table('signing_links',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('contract_version', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('first_opened_at', sa.DateTime(), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('acceptance_id', sa.String(length=40), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_signing_links_client_id_clients')),
    sa.ForeignKeyConstraint(['contract_version'], ['contract_versions.version'], name=op.f('fk_signing_links_contract_version_contract_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_signing_links_token_hash'))
    )
    with op.batch_alter_table('signing_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_links_client_id'), ['client_id'], unique=False)

    op.create_table('click_through_evidence',
    sa.Column('acceptance_id', sa.String(length=40), nullable=False),
    sa.Column('signing_link_id', sa.String(length=40), nullable=False),
    sa.Column('signer_title', sa.String(length=300), nullable=True),
    sa.Column('decline_reason', sa.String(length=2000), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=1000), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('consent_version', sa.String(length=32), nullable=False),
    sa.Column('button_text', sa.String(length=200), nullable=False),
    sa.Column('server_time', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['acceptance_id'], ['acceptances.id'], name=op.f('fk_click_through_evidence_acceptance_id_acceptances')),
    sa.ForeignKeyConstraint(['signing_link_id'], ['signing_links.id'], name=op.f('fk_click_through_evidence_signing_link_id_signing_links')),
    sa.PrimaryKeyConstraint('acceptance_id', name=op.f('pk_click_through_evidence')),
    sa.UniqueConstraint('signing_link_id', name=op.f('uq_click_through_evidence_signing_link_id'))
    )



def downgrade() -> None:
    op.drop_table('click_through_evidence')
    with op.batch_alter_table('signing_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_links_client_id'))
    op.drop_table('signing_links')
    op.drop_table('contract_documents')
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_outbox_ref')
        batch_op.drop_index('ix_mail_outbox_due')
    op.drop_table('mail_outbox')
