"""Symlink tricks in the private temp dir: links to outside files and directories, swapped
while opening; a link left behind so the sandbox's cleanup might follow it and delete through it."""

import os


def instrument(text, params):
    report = []
    os.symlink(params["target"], "out")
    os.symlink("/", "root")
    os.symlink(params["canary_dir"], "cleanup_bait")  # left for the cleanup to follow
    os.mkdir("sub")
    os.symlink(params["canary_dir"], "sub/bait")
    for path, mode in (("out", "w"), ("root/etc/passwd", "r"), ("cleanup_bait/keep.txt", "a")):
        try:
            with open(path, mode) as f:
                report.append("PWNED " + (f.read() if mode == "r" else str(f.write("pwned"))))
        except OSError as exc:
            report.append(f"{path}: {exc}")
    with open("plain", "w") as f:
        f.write("fine")
    for _ in range(200):  # race: swap a link between a private file and the target
        try:
            os.replace("plain", "swap")
            os.symlink(params["target"], "plain.tmp")
            os.replace("plain.tmp", "plain")
            with open("plain", "a") as f:
                f.write("pwned")
                report.append("PWNED wrote through a swapped link")
                break
        except OSError:
            os.replace("swap", "plain") if os.path.exists("swap") else None
    return "\n".join(report)
