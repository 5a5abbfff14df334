"""The campaigns' admin: who may see and send them (``permissions``), the editor (``editor``),
the Send page (``sending``), a contact's subscription from the admin (``subscriptions``) and
the viewsets (``viewsets``: campaigns, and the "Campaigns" menu group with the segments)."""
