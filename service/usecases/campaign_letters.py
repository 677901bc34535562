"""The shipped wording of the campaign letters (Jinja2): a plain, friendly letter in text and HTML."""
# ruff: noqa: E501
# Each paragraph of the text letter is one line: mail clients wrap it to the reader's window.

from __future__ import annotations

DEFAULT_SUBJECT = (
    "{% if step == 'initial' %}Please sign our service contract{% else %}Reminder: {{ days_left }} "
    "day{{ '' if days_left == 1 else 's' }} left to sign our service contract{% endif %} — {{ contract_title }}"
)

DEFAULT_TEXT = """Hello {{ client_name }},

{% if step == 'initial' -%}
We have updated our service contract: "{{ contract_title }}" (version {{ contract_version }}). It is our terms of service and the service level we commit to: what we do for you, how fast we answer, and what we both can expect.
{%- else -%}
A friendly reminder: our service contract "{{ contract_title }}" (version {{ contract_version }}) is still waiting for your signature.
{%- endif %}

{% if deadline_passed -%}
Signing is free and takes a minute. Since {{ grace_until }} we can only give remote fixes, on-site visits and other advanced support to clients who have signed it; sign now and they are open to you again at once. Triage stays open to everyone, signed or not, at any hour.
{%- else -%}
Signing is free and takes a minute. It changes one thing: from {{ grace_until }} we can only give remote fixes, on-site visits and other advanced support to clients who have signed it. Triage stays open to everyone, signed or not, at any hour.

{% if days_left > 0 -%}
You have {{ days_left }} day{{ '' if days_left == 1 else 's' }} left, until {{ grace_until }}.
{%- else -%}
The deadline is today, {{ grace_until }}.
{%- endif %}
{%- endif %}

Read and sign it here (the link is personal to you):
{{ signing_url }}

If you would rather sign on paper, or have a question, just reply to this e-mail.

Thank you,
{{ sender_name }}
"""

DEFAULT_HTML = """<!doctype html>
<html lang="en"><body style="font-family: sans-serif; line-height: 1.5; max-width: 40em">
<p>Hello {{ client_name }},</p>
{% if step == 'initial' %}
<p>We have updated our service contract: <strong>{{ contract_title }}</strong> (version {{ contract_version }}).
It is our terms of service and the service level we commit to: what we do for you, how fast we answer, and
what we both can expect.</p>
{% else %}
<p>A friendly reminder: our service contract <strong>{{ contract_title }}</strong> (version {{ contract_version }})
is still waiting for your signature.</p>
{% endif %}
{% if deadline_passed %}
<p>Signing is free and takes a minute. Since {{ grace_until }} we can only give remote fixes, on-site visits and
other advanced support to clients who have signed it; sign now and they are open to you again at once. Triage stays
open to everyone, signed or not, at any hour.</p>
{% else %}
<p>Signing is free and takes a minute. It changes one thing: from {{ grace_until }} we can only give remote
fixes, on-site visits and other advanced support to clients who have signed it. Triage stays open to everyone,
signed or not, at any hour.</p>
<p>{% if days_left > 0 %}You have {{ days_left }} day{{ '' if days_left == 1 else 's' }} left, until
{{ grace_until }}.{% else %}The deadline is today, {{ grace_until }}.{% endif %}</p>
{% endif %}
<p><a href="{{ signing_url }}">Read and sign the contract</a> (the link is personal to you).</p>
<p>If you would rather sign on paper, or have a question, just reply to this e-mail.</p>
<p>Thank you,<br>{{ sender_name }}</p>
</body></html>
"""
