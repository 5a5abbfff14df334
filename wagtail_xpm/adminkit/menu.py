"""The "Xero Practice Manager" admin menu (registered in ``wagtail_hooks``)."""

# Sub-items of the "Xero Practice Manager" menu register with this hook (a viewset's
# ``menu_hook``, or ``hooks.register(XPM_MENU_HOOK)``).
XPM_MENU_HOOK = "register_wagtail_xpm_menu_item"
