"""Where the iWmo 3.2 material lives, and what its rule texts and code lists say.

The XSDs, the rule stylesheet and the rule texts are third-party publications of Zorginstituut
Nederland whose licence is not settled, so the package does not carry them: it reads them from a
folder given by ``--iwmo-dir``, else the environment variable ``MGR_IWMO_DIR``, else
``../shared/iwmo`` relative to the working directory when that folder exists. The folder has
``xsd/`` (basisschema, WMO323, WMO325), ``xslt/wmo-3.2-regels.xsl`` and ``rules/`` (Markdown rule
texts and code lists: WJ001 return codes, TR/IV rules, the CD/CS/RS table).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mgr_tariffs.problems import InputError

ENV_VAR = "MGR_IWMO_DIR"
DEFAULT_RELATIVE = Path("..") / "shared" / "iwmo"
STYLESHEET = Path("xslt") / "wmo-3.2-regels.xsl"
SCHEMAS = {
    "http://www.istandaarden.nl/iwmo/3_2/wmo323/schema": "WMO323.xsd",
    "http://www.istandaarden.nl/iwmo/3_2/wmo325/schema": "WMO325.xsd",
    "http://www.istandaarden.nl/iwmo/3_2/wmo301/schema": "WMO301.xsd",
}
NEEDED = (Path("xsd") / "basisschema.xsd", Path("xsd") / "WMO323.xsd", Path("xsd") / "WMO325.xsd", STYLESHEET)


@dataclass(frozen=True)
class IwmoMaterial:
    """A checked iWmo folder."""

    root: Path

    @property
    def stylesheet(self) -> Path:
        return self.root / STYLESHEET

    def schema(self, namespace: str) -> Path | None:
        name = SCHEMAS.get(namespace)
        return None if name is None else self.root / "xsd" / name

    def rule_text(self, code: str) -> str:
        """The Dutch definition of a rule (TR/CD/CS/RS/IV code), or ``""`` when the folder has none."""
        return rule_texts(self.root).get(code, "")

    def return_code(self, code: str) -> str:
        """The WJ001 meaning of a return code (``"9346"`` → its Dutch text), or ``""`` when unknown."""
        return return_codes(self.root).get(code, "")


def find_material(option: Path | None = None, *, cwd: Path | None = None) -> IwmoMaterial:
    """The iWmo folder: ``option``, else ``$MGR_IWMO_DIR``, else ``../shared/iwmo`` when present.

    Raises :class:`InputError` naming what is missing (the CLI turns it into exit 2).
    """
    env = os.environ.get(ENV_VAR)
    if option is not None:
        root, how = option, "--iwmo-dir"
    elif env:
        root, how = Path(env), ENV_VAR
    else:
        root, how = (cwd or Path.cwd()) / DEFAULT_RELATIVE, "the default ../shared/iwmo"
        if not root.is_dir():
            raise InputError(str(DEFAULT_RELATIVE), "no iWmo material found: pass --iwmo-dir FOLDER or set "
                             f"{ENV_VAR} to the folder with xsd/ and xslt/ (see docs/iwmo.md)")
    missing = [str(p) for p in NEEDED if not (root / p).is_file()]
    if missing:
        raise InputError(str(root), f"not an iWmo 3.2 folder ({how}): missing {', '.join(missing)}")
    return IwmoMaterial(root)


_DEFINITION = re.compile(r"^## Definitie\s*\n+(.+?)\n", re.MULTILINE)
_TABLE_CODE = re.compile(r"^(?:CD|CS|RS|TR)\d{3}$")


@functools.cache
def rule_texts(root: Path) -> dict[str, str]:
    """Rule code → Dutch text, from ``rules/*.md`` (TR definitions, IV instructions, the CD/CS/RS table)."""
    texts: dict[str, str] = {}
    folder = root / "rules"
    if not folder.is_dir():
        return texts
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.name.startswith("CD_CS_RS"):
            for line in text.splitlines():
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) >= 9 and _TABLE_CODE.match(cells[7]):
                    texts.setdefault(cells[7], cells[8])
        elif re.match(r"^TR\d{3}", path.name):
            match = _DEFINITION.search(text)
            if match:
                texts[path.stem[:5]] = re.sub(r"^TR\d{3}:\s*", "", " ".join(match.group(1).split()))
        elif path.name.startswith("invulinstructie_IV"):
            code = path.stem.removeprefix("invulinstructie_")
            question = re.search(r"^\*([^*].+?)\*\s*$", text, re.MULTILINE)
            if question:
                texts[code] = question.group(1).strip()
    return texts


def instruction_sentence(root: Path, code: str, containing: str) -> str:
    """The sentence of instruction ``code`` (``IV042``) that contains ``containing``, or ``""``."""
    path = root / "rules" / f"invulinstructie_{code}.md"
    if not path.is_file():
        return ""
    for paragraph in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if containing in paragraph:
            return paragraph.strip()
    return ""


@functools.cache
def return_codes(root: Path) -> dict[str, str]:
    """WJ001: return code → Dutch meaning, from ``rules/WJ001_Retourcode.md``."""
    path = root / "rules" / "WJ001_Retourcode.md"
    codes: dict[str, str] = {}
    if not path.is_file():
        return codes
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.fullmatch(r"[0-9A-Z]\d{3}", cells[0]):
            codes.setdefault(cells[0], cells[1])
    return codes
