"""Attack at import time: top-level code (run before instrument() is even looked up) dumps the
environment to files in /tmp and $HOME and runs a shell command; instrument() then behaves."""

import os

for _path in ("/tmp/ti-hostile-import-time", os.path.expanduser("~/ti-hostile-import-time")):
    try:
        with open(_path, "w") as _f:
            _f.write(repr(dict(os.environ)))
    except OSError as _exc:
        _error = _exc
_status = os.system("touch /tmp/ti-hostile-import-time-shell")


def instrument(text, params):
    return text
