"""Campaign emails: merge-field rendering, the frozen recipient snapshot, batch sending and
signed one-click unsubscribe links. Nothing here speaks to XPM."""
