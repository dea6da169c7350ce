"""``python -m airflow_provider_opslevel.cli``: the same as ``opslevel-integration``."""

import sys

from airflow_provider_opslevel.cli import main

sys.exit(main())
