"""Keep the translation files in step with the code.

    python -m ui.translations update [--fill zh.json]   # extract strings, merge, compile
    python -m ui.translations check                      # exit 1 if anything is untranslated

``update`` runs ``pyside6-lupdate`` over every module in ``ui/`` (existing translations are
kept), optionally fills untranslated entries from a JSON object {english source: translation},
then compiles the ``.qm`` with ``pyside6-lrelease``. Translators can also open the ``.ts`` file
in Qt Linguist (``pyside6-linguist``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TS_FILE = ROOT / "resources" / "translations" / "showroom_zh_CN.ts"


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    return found


def sources() -> list[Path]:
    return sorted(p for p in (ROOT / "ui").rglob("*.py") if p.name != "translations.py")


def extract(ts_file: Path) -> None:
    """Merge the strings of the code into ``ts_file`` (kept translations, dropped obsolete)."""
    subprocess.run(
        [_tool("pyside6-lupdate"), *map(str, sources()), "-no-obsolete", "-locations", "none",
         "-ts", str(ts_file)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip


def compile_qm(ts_file: Path, qm_file: Path) -> None:
    subprocess.run(
        [_tool("pyside6-lrelease"), str(ts_file), "-qm", str(qm_file)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip


def unfinished(ts_file: Path) -> list[tuple[str, str]]:
    """(context, source) of every message without a finished translation."""
    missing = []
    for context in ET.parse(ts_file).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            texts = [translation.text] + [f.text for f in translation.iter("numerusform")]
            if translation.get("type") in ("unfinished", "vanished", "obsolete") or not any(texts):
                missing.append((name, message.findtext("source")))
    return missing


def fill(ts_file: Path, mapping: dict[str, str]) -> int:
    """Put translations from ``mapping`` into untranslated messages; returns how many."""
    tree = ET.parse(ts_file)
    filled = 0
    for message in tree.getroot().iter("message"):
        translation = message.find("translation")
        source = message.findtext("source")
        if translation.get("type") != "unfinished" or source not in mapping:
            continue
        text = mapping[source]
        if message.get("numerus") == "yes":
            for form in list(translation):
                translation.remove(form)
            ET.SubElement(translation, "numerusform").text = text
        else:
            translation.text = text
        del translation.attrib["type"]
        filled += 1
    tree.write(ts_file, encoding="utf-8", xml_declaration=True)
    return filled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.translations")
    sub = parser.add_subparsers(dest="command", required=True)
    update = sub.add_parser("update")
    update.add_argument("--fill", type=Path, help="JSON {source: translation}")
    sub.add_parser("check")
    args = parser.parse_args(argv)

    if args.command == "update":
        extract(TS_FILE)
        if args.fill:
            print(f"filled {fill(TS_FILE, json.loads(args.fill.read_text('utf-8')))}")
        compile_qm(TS_FILE, TS_FILE.with_suffix(".qm"))
    missing = unfinished(TS_FILE)
    for context, source in missing:
        print(f"untranslated: [{context}] {source}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
