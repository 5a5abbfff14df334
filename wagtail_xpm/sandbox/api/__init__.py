"""The XPM 3.1 resource handlers (``/practicemanager/3.1/<resource>.api/<method>``)."""
