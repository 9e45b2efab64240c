"""Who may do what, and limits: API keys, viewer tokens, origins, security headers, rate and
connection limits. `wiring.setup_security` installs them on the app."""
