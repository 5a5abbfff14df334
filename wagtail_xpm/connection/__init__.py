"""The Xero connection: OAuth, the client factory, tokens and XPM's reference lists."""
