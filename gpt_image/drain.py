"""The pod's preStop hook: `python -m gpt_image.drain` returns once nothing is in
flight, synchronous or asynchronous, and coglet has had time to deliver the last
outputs and final webhook (gpt_image/metrics.py, /idle); at once on an idle pod.

Only then does Kubernetes send SIGTERM, on which coglet 0.23.1 drains synchronous
predictions but kills asynchronous ones after 10 s (docs/kubernetes.md). The
standard library alone, so the hook starts fast.
"""

import os
import sys
import time
import urllib.error
import urllib.request

POLL_SECONDS = 1.0


def is_idle(port: int) -> bool:
    """True once the worker says it is idle, or when nothing answers on its port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/idle", timeout=5):
            return True
    except urllib.error.HTTPError:  # 503: a prediction in flight or being delivered
        return False
    except urllib.error.URLError as error:
        # No worker listening: nothing of this container can be in flight.
        return isinstance(error.reason, ConnectionRefusedError)
    except OSError:  # slow to answer: not known to be idle
        return False


def main() -> int:
    port = os.environ.get("METRICS_PORT", "").strip()
    if not port.isdigit():
        print("METRICS_PORT is not set: nothing to wait for.")
        return 0
    started = time.monotonic()
    while not is_idle(int(port)):
        time.sleep(POLL_SECONDS)
    print(f"Idle after {time.monotonic() - started:.1f} s of draining.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
