"""Marketing consent: double opt-in, the consent ledger, opt-outs shared with XPM
(docs/privacy.md). Models in ``wagtail_xpm/models/consent.py``."""
