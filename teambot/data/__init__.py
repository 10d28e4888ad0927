"""The data layer: every SQL statement of teambot lives in this package."""
