"""Sync XPM clients and contacts into the website CRM (plan, then apply)."""
