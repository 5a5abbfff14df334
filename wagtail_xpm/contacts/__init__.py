"""The website CRM's contacts: the export rows and writers (``exports``, used by xpm_export and
every admin download) and background exports (``bulkexport``); their admin in ``admin/``,
the background export's Huey tasks in ``tasks``. Models in ``wagtail_xpm/models/contacts.py``."""
