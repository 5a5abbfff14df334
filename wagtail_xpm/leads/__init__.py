"""Website leads: lead form page and block, spam gate, outbox delivery to XPM.

* ``spam``: the gate (honeypot, minimum fill time, per-IP rate limit, captcha hook).
* ``forms``: the protection fields added to every lead form, and the block's form.
* ``intake``: a valid submission becomes an outbox row (``LeadSubmission``) and a queued task.
* ``pipeline``: delivery (find or create the XPM client, then add the lead), idempotent;
  retries, pauses, failures and the sweeper's selection.
* ``crm``: the website's CRM contact created or updated from a submission.
* ``pages`` / ``blocks`` / ``public`` / ``urls``: the form page mixin, the StreamField block
  and the public POST endpoints; ``pagecache``: the page as the POST endpoint needs it.
* ``reference``: staff and lead categories (the settings' choices); ``configsection``: the
  ``leads`` section of the xpm_config document.
* ``tasks``: the Huey task and the sweeper; ``admin/``: the admin; ``actions``: the one way
  an enquiry is deleted (a Wagtail action, shared with the erasure of ``rights/``).
"""
