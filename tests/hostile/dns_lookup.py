"""Resolve names (a DNS exfiltration channel): getaddrinfo, then the resolver's config files."""


def instrument(text, params):
    report = []
    try:
        import socket

        report.append("PWNED resolved " + repr(socket.getaddrinfo("example.com", 80)))
    except (ImportError, OSError) as exc:
        report.append(repr(exc))
    for path in ("/etc/resolv.conf", "/etc/hosts"):
        try:
            with open(path) as f:
                report.append("PWNED " + f.read())
        except OSError as exc:
            report.append(repr(exc))
    return "\n".join(report)
