"""A person's rights over what the website holds about them (docs/privacy.md "Access requests
and erasure"): ``held`` gathers it (the access request's document), ``erasure`` plans and
erases the website-only part. The admin's views are ``wagtail_xpm/rights/admin.py``."""
