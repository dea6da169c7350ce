"""OpsLevel GraphQL client and catalog operations (no Airflow imports; the hook wraps them)."""
