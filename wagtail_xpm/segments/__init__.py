"""Segments: the segment language, the version-1 rule format, one query over contacts, explain.

The language: ``vocabulary`` (operators, types, built-in fields, values), ``parse`` (typed
expression -> rules), ``describe`` (rules -> words) and ``catalogue`` (a practice's fields with
the values offered), used alike by the admin builder, the config document and the Slack bot.
Then ``rules`` (walking and validating rule trees), ``compile`` (rule tree -> queryset, with
``jsonsql``), ``explain`` (why a contact is in or out) and ``dates`` (balance-date
arithmetic). Nothing here speaks to XPM.
"""
