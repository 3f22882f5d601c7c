"""Shared code of the fleet-migration Lambda steps: models, ECS operations, errors."""
