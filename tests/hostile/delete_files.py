"""Delete files: the test's canary file, a whole canary directory, and rename one away."""

import os
import shutil


def instrument(text, params):
    report = []
    for action in (
        lambda: os.remove(params["canary"]),
        lambda: shutil.rmtree(params["canary_dir"]),
        lambda: os.rename(params["canary"], params["canary"] + ".moved"),
        lambda: open(params["canary"], "w").close(),
    ):
        try:
            action()
            report.append("PWNED")
        except OSError as exc:
            report.append(str(exc))
    return "\n".join(report)
