"""Forms: sending."""
