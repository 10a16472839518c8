"""Print, as JSON, the macro modules LibreOffice reads from a workbook's VBA project.

Run with Debian's own /usr/bin/python3 (which has the `uno` module):
    /usr/bin/python3 uno_basic_modules.py PORT FILE.xlam
A headless soffice must be listening on the port. Output: {library: {module: source}}.
"""

import json
import sys

import uno
from uno_recalculate import _property, connect


def main():
    port, path = sys.argv[1], sys.argv[2]
    context = connect(port)
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    document = desktop.loadComponentFromURL(
        uno.systemPathToFileUrl(path), "_blank", 0, (_property("Hidden", True), _property("FilterName", "Calc MS Excel 2007 VBA XML"))
    )
    libraries = document.BasicLibraries
    found = {}
    for name in libraries.getElementNames():
        libraries.loadLibrary(name)
        library = libraries.getByName(name)
        found[name] = {module: library.getByName(module) for module in library.getElementNames()}
    document.close(True)
    print(json.dumps(found, ensure_ascii=False))


if __name__ == "__main__":
    main()
