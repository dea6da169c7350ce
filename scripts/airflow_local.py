"""`make airflow`: the example DAGs in a real local Airflow 3, against the seeded fakes.

Starts a fake Sentry and a fake OpsLevel seeded as `make demo` seeds them, then Airflow's
api-server, scheduler and dag-processor (LocalExecutor, SQLite) with AIRFLOW_HOME=.airflow and
the project's dags/ folder, prints how to try the DAGs (the push DAG `deploys` unpaused, its
webhook served with a demo secret), and runs until Ctrl-C or SIGTERM, which stop everything it
started. The fakes live in this process: they keep their state while it runs and start afresh
each time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_opslevel.testing.airflow_stack import PASSWORDS_FILE, AirflowStack  # noqa: E402
from airflow_provider_opslevel.testing.demo_fakes import SENTRY_TOKEN, DemoFakes, demo_fakes  # noqa: E402
from airflow_provider_opslevel.testing.errors import AirflowStackError  # noqa: E402

HOME = ROOT / ".airflow"
DAG_ID = "sentry_issues"
PUSH_DAG_ID = "deploys"
# The push example's webhook secret (a local demo on 127.0.0.1; choose a random one for real use).
WEBHOOK_SECRET = "demo-webhook-secret"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def saved_password(home: Path, username: str) -> str | None:
    """The password written by the last run, so a browser's saved login keeps working."""
    try:
        return json.loads((home / PASSWORDS_FILE).read_text()).get(username)
    except (OSError, ValueError):
        return None


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    for other in STOP_SIGNALS:  # one orderly stop: a second Ctrl-C must not cut it short
        signal.signal(other, signal.SIG_IGN)
    raise KeyboardInterrupt


def webhook_connection() -> dict[str, str]:
    """The connection holding the push example's webhook secret."""
    return {
        f"AIRFLOW_CONN_OPSLEVEL_WEBHOOK_{PUSH_DAG_ID.upper()}": json.dumps(
            {"conn_type": "generic", "password": WEBHOOK_SECRET}
        )
    }


def instructions(stack: AirflowStack, fakes: DemoFakes) -> str:
    logs = stack.logs.relative_to(ROOT)
    deploy = json.dumps(
        {
            "service": "checkout",
            "environment": "production",
            "version": "1.4.2",
            "url": "https://ci.example.com/runs/812",
        }
    )
    return f"""
Airflow is up: {stack.url}
  Log in as {stack.username} / {stack.password}
  1. Open the DAG {DAG_ID}. It has no schedule and starts paused: nothing runs until you trigger it.
  2. Trigger, tick "Dry run", Trigger. The transform task's log and XCom show the plan; nothing is written.
  3. Trigger again without "Dry run" to write the issues to the fake OpsLevel.

Push webhook of the DAG {PUSH_DAG_ID} (unpaused; secret in the connection opslevel_webhook_{PUSH_DAG_ID}):
  {stack.url}/opslevel/webhook/{PUSH_DAG_ID}?external_kind=deploy
  curl -X POST '{stack.url}/opslevel/webhook/{PUSH_DAG_ID}?external_kind=deploy' \\
    -H 'Authorization: Bearer {WEBHOOK_SECRET}' -H 'Content-Type: application/json' \\
    -d '{deploy}'
  It answers 202 with the run id; the run writes a deploy component to the fake OpsLevel.

Fake Sentry:   {fakes.sentry.url} (token {SENTRY_TOKEN}; {len(fakes.sentry.projects)} projects)
Fake OpsLevel: {fakes.opslevel.url}/__catalog shows its catalog as JSON
               (the services are seeded; sentry_issue components appear after a real run)
Logs: {logs}/ (api-server.log, scheduler.log, dag-processor.log and every task's log)
Ctrl-C stops Airflow and the fakes.
"""


def main() -> int:
    port = int(os.environ.get("AIRFLOW_PORT", "8080"))
    if port_in_use(port):
        print(f"port {port} on 127.0.0.1 is in use: stop what holds it, or set AIRFLOW_PORT", file=sys.stderr)
        return 1
    for signum in STOP_SIGNALS:
        signal.signal(signum, _interrupt)
    with demo_fakes() as fakes:
        stack = AirflowStack(
            HOME,
            port=port,
            dags_folder=ROOT / "dags",
            env={**fakes.environment(), **webhook_connection()},
            password=saved_password(HOME, "admin"),
        )
        print(f"Starting Airflow in {HOME.relative_to(ROOT)}/ on {stack.url} (about a minute)...", flush=True)
        started = time.monotonic()
        try:
            stack.start()
            stack.wait_for_dag(DAG_ID)
            stack.wait_for_dag(PUSH_DAG_ID)
            stack.unpause(PUSH_DAG_ID)  # ships paused; here its pushes should run at once
            print(f"(ready in {time.monotonic() - started:.0f}s)")
            print(instructions(stack, fakes), flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nStopping Airflow and the fakes...", flush=True)
        except AirflowStackError as error:
            print(f"Airflow did not start: {error}", file=sys.stderr)
            return 1
        finally:
            stack.stop()
    print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
