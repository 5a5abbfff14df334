"""The segments' admin: the form (``forms``), the builder's endpoints and the editor's page
(``views``) and the snippet viewset (``viewsets``), grouped under "Campaigns" by
``campaigns/admin/viewsets.py``."""
