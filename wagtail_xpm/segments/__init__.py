"""Segments: the version-1 rule format, compiled to one query over contacts, and explained.

``rules`` (format, fields, validation), ``compile`` (rule tree -> queryset), ``explain`` (why a
contact is in or out) and ``dates`` (balance-date arithmetic). Nothing here speaks to XPM.
"""
