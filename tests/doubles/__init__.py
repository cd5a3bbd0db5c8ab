"""Test doubles of outside services (GitHub REST API), checked against their OpenAPI descriptions."""
