"""Device models of digitalmatter."""
