"""The sync's admin: the Sync pages and run history (``runs``), the field mapping editor
(``mappings``) and their viewsets (``viewsets``), registered in ``wagtail_hooks``."""
