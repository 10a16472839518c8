"""Recalculate workbooks in LibreOffice Calc through Python-UNO and save them as .xlsx.

Run with Debian's own /usr/bin/python3 (which has the `uno` module):
    /usr/bin/python3 uno_recalculate.py PORT IN.xlsx OUT.xlsx [IN2.xlsx OUT2.xlsx ...]
A headless soffice must be listening on the port.
"""

import sys
import time

import uno  # noqa: F401  (makes com.sun.star importable)
from com.sun.star.beans import PropertyValue


def _property(name, value):
    prop = PropertyValue()
    prop.Name = name
    prop.Value = value
    return prop


def connect(port):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(120):
        try:
            return resolver.resolve(f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext")
        except Exception:
            time.sleep(0.5)
    raise SystemExit("soffice did not answer")


def main():
    port, files = sys.argv[1], sys.argv[2:]
    context = connect(port)
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    for source, target in zip(files[::2], files[1::2], strict=True):
        url = uno.systemPathToFileUrl(source)
        document = desktop.loadComponentFromURL(url, "_blank", 0, (_property("Hidden", True),))
        document.calculateAll()
        document.storeToURL(
            uno.systemPathToFileUrl(target), (_property("FilterName", "Calc Office Open XML"),)
        )
        document.close(True)


if __name__ == "__main__":
    main()
