"""Website leads in the admin: the enquiries (``enquiries``), the leads part of the XPM site
settings page (``site_settings``), lead form pages in Wagtail's Forms screens (``formsaccess``
chooses who sees them, ``formsviews`` sends their submissions to the enquiries) and the viewset
(``viewsets``), registered in ``wagtail_hooks``. Deleting an enquiry is ``leads/actions.py``, a
Wagtail action (not a view) that the erasure of ``rights/erasure.py`` shares."""
