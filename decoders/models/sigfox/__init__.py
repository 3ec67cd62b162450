"""Device models of sigfox."""
