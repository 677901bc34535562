"""Outgoing mail: transports (SMTP, .eml folder)."""
