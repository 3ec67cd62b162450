"""Device models of dragino."""
