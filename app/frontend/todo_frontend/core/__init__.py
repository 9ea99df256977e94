"""Configuration and security primitives of the frontend."""
