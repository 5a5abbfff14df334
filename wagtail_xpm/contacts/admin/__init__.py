"""The contacts' admin: the listing (``listing``) and its downloads (``downloads``), a
contact's page (``inspect``), add and edit (``editing``), and the viewset (``viewsets``)
registered in ``wagtail_hooks``."""
