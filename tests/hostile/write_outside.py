"""Write outside the private temp dir: the test's target path, /tmp, /dev/shm, and ../."""

import os


def instrument(text, params):
    report = []
    for path in (
        params["target"],
        "/tmp/ti-hostile-write",
        "/dev/shm/ti-hostile-write",
        "../escaped",
    ):
        try:
            with open(path, "w") as f:
                f.write("pwned")
            report.append(f"PWNED wrote {path}")
        except OSError as exc:
            report.append(f"{path}: {exc}")
    try:
        os.mkdir(params["target"] + ".d")
        report.append("PWNED made a directory")
    except OSError as exc:
        report.append(f"mkdir: {exc}")
    return "\n".join(report)
