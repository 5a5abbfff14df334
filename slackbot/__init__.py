"""Slack ops bot for wagtail_xpm (Bolt for Python). Commands arrive with the Slack issue."""
