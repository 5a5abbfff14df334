"""Slack ops bot for wagtail_xpm: ``/xpm`` commands, sync progress and notifications.

See docs/slack.md. Thin Bolt adapters (listeners, views, Socket Mode) around a core that
uses only ``wagtail_xpm.services``, the models and the segments/leads adapters.
"""
