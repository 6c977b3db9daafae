"""Run a shell command with os.system and os.popen to create the test's target file."""

import os


def instrument(text, params):
    report = [f"system -> {os.system('touch ' + params['target'])}"]
    try:
        with os.popen("id") as pipe:
            report.append("PWNED popen " + pipe.read())
    except (ImportError, OSError) as exc:  # popen needs subprocess, which may not be loadable
        report.append(f"popen: {exc!r}")
    return "\n".join(report)
