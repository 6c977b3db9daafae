"""Read /etc/passwd (and, failing that, /etc/hostname and list /) and return it."""

import os


def instrument(text, params):
    found = []
    for path in ("/etc/passwd", "/etc/hostname"):
        try:
            with open(path) as f:
                found.append("PWNED " + f.read())
        except OSError as exc:
            found.append(f"{path}: {exc}")
    try:
        found.append("PWNED listed / " + " ".join(os.listdir("/")))
    except OSError as exc:
        found.append(f"/: {exc}")
    return "\n".join(found)
