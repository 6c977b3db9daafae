"""Kill or trace the parent: SIGKILL the zygote and its process group, probe whether the caller
and pid 1 could be signalled, and write the zygote's memory via /proc.

The probes use signal 0 (a permission check that delivers nothing), so a sandbox that failed
would not take the test run down with it. (kill(-1, ...) is left out: Linux returns 0 for it
even when every process refused, so its result says nothing.)
"""

import os
import signal


def instrument(text, params):
    report = []
    ppid = os.getppid()
    for target, sig in ((ppid, signal.SIGKILL), (int(params.get("pid", "1")), 0), (1, 0)):
        try:
            os.kill(target, sig)
            report.append(f"PWNED signalled {target}")
        except OSError as exc:
            report.append(f"kill {target}: {exc}")
    try:
        os.killpg(os.getpgid(ppid), signal.SIGKILL)
        report.append("PWNED killed the parent's group")
    except OSError as exc:
        report.append(f"killpg: {exc}")
    try:
        with open(f"/proc/{ppid}/mem", "wb") as mem:
            mem.write(b"\xcc")
        report.append("PWNED wrote parent memory")
    except OSError as exc:
        report.append(f"mem: {exc}")
    return "\n".join(report)
