"""The admin's shared base, used by every feature's ``admin`` (docs/architecture.md):
``guards`` (a permission, on the site a URL names), ``scoped`` (listings, choosers and bulk
deletes cut down to the user's sites), ``labels`` (how the admin names a practice) and
``menu`` (the "Xero Practice Manager" menu's hook). No core imports it."""
