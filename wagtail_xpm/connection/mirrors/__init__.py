"""Local copies of XPM's reference lists, each refreshed by a module of its own."""
