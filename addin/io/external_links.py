"""The files a workbook links to: the targets of its external-link parts (xl/externalLinks/), as recorded.

A workbook in which someone typed a DTFUND_ formula on a PC with the add-in loaded records the add-in's
path there (C:\\Users\\<name>\\…\\XLSTART\\dtfund.xlam) in such a part. Bounded: at most MAX_LINK_PARTS
parts, each read through read_small_part's limits; a package that cannot be read has no links here (the
check reports an unreadable file on its own).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from addin.io.xlsx_parts import PackageError, read_small_part, relationships

LINK_RELS = re.compile(r"xl/externalLinks/_rels/[^/]+\.xml\.rels")
MAX_LINK_PARTS = 1000  # Excel keeps one part per linked file; a real workbook has a handful


@dataclass(frozen=True)
class ExternalLink:
    part: str  # the external-link part, e.g. xl/externalLinks/externalLink1.xml
    target: str  # the linked file as recorded (file:/// and %-escapes removed)

    @property
    def file_name(self) -> str:
        return re.split(r"[\\/]", self.target)[-1]


def external_links(path: Path) -> list[ExternalLink]:
    """Every file the workbook links to, in part order."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = sorted(name for name in archive.namelist() if LINK_RELS.fullmatch(name))
            links = []
            for rels in parts[:MAX_LINK_PARTS]:
                part = rels.replace("/_rels/", "/").removesuffix(".rels")
                links += [
                    ExternalLink(part, _recorded_path(rel.target))
                    for rel in relationships(rels, read_small_part(archive, rels))
                    if rel.external
                ]
            return links
    except (OSError, zipfile.BadZipFile, PackageError, KeyError):
        return []


def _recorded_path(target: str) -> str:
    """file:///C:\\Users\\x\\dtfund.xlam -> C:\\Users\\x\\dtfund.xlam (Excel writes both slashes)."""
    text = unquote(target)
    return re.sub(r"^file:///?(?=[A-Za-z]:)|^file://", "", text)
