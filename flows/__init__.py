"""Prefect flows: each reads like the pipeline diagram and only chains tasks."""
