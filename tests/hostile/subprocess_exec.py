"""Start programs: subprocess, os.posix_spawn and os.execv, each trying to create the target."""

import os


def instrument(text, params):
    report = []
    try:
        import subprocess

        subprocess.run(["/bin/sh", "-c", "touch " + params["target"]], check=False)
        report.append("PWNED subprocess ran")
    except (ImportError, OSError) as exc:
        report.append(repr(exc))
    try:
        os.posix_spawn("/usr/bin/touch", ["touch", params["target"]], {})
        report.append("PWNED posix_spawn ran")
    except OSError as exc:
        report.append(repr(exc))
    try:
        os.execv("/usr/bin/touch", ["touch", params["target"]])
    except OSError as exc:
        report.append(repr(exc))
    return "\n".join(report)
