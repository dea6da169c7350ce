"""The push webhook: ``POST /opslevel/webhook/<integration>`` on Airflow's api-server (a plugin)."""
