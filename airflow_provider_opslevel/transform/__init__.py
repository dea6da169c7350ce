"""Transformation: records → desired components → a plan against OpsLevel → applied writes."""
