"""Forms: parties."""
