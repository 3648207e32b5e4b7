"""Rich text and files for the sandbox site: one document model rendered two ways, and small files.

Jira carries rich text as Atlassian Document Format (ADF, JSON) and Confluence as its storage
format (XHTML with `ac:`/`ri:` elements), and Confluence can answer in ADF too. A `Document` is a
small tree of blocks (paragraphs, headings, lists, code) and inline nodes (text with marks,
mentions, emoji) that renders to both, so a page's storage body and its ADF body always say the
same thing. `Writer` produces varied multilingual text from a seeded `random.Random`;
`make_file` produces real, valid bytes (text, JSON, CSV, PNG, PDF) for attachments.
"""

from __future__ import annotations

import json
import random
import re
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape, unescape
from typing import Any, Protocol

# --- the document model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    link: str | None = None
    comment_ref: str | None = None  # the marker of a Confluence inline comment on this text


@dataclass(frozen=True)
class Mention:
    account_id: str
    name: str


@dataclass(frozen=True)
class Emoji:
    short_name: str  # ":tada:"
    code_point: str  # "1f389"
    char: str  # "🎉"


Inline = Text | Mention | Emoji


@dataclass(frozen=True)
class Paragraph:
    content: tuple[Inline, ...]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class ItemList:
    items: tuple[tuple[Inline, ...], ...]
    ordered: bool = False


@dataclass(frozen=True)
class CodeBlock:
    language: str
    text: str


Block = Paragraph | Heading | ItemList | CodeBlock


@dataclass(frozen=True)
class Document:
    blocks: tuple[Block, ...]

    def to_adf(self) -> dict[str, Any]:
        return {"type": "doc", "version": 1, "content": [_adf_block(b) for b in self.blocks]}

    def to_storage(self) -> str:
        return "".join(_storage_block(b) for b in self.blocks)

    def plain_text(self) -> str:
        return "\n".join(_plain_block(b) for b in self.blocks)


class RichText(Protocol):
    """Rich text as the site keeps it: a generated `Document`, or a body a client wrote."""

    def to_adf(self) -> dict[str, Any]: ...

    def to_storage(self) -> str: ...

    def plain_text(self) -> str: ...


def _adf_text(node: Any) -> list[str]:
    """The text of an ADF node, one string per block."""
    if not isinstance(node, dict):
        return []
    if node.get("type") == "text":
        return [str(node.get("text", ""))]
    parts = [_adf_text(child) for child in node.get("content", []) or []]
    if node.get("type") in ("doc", "bulletList", "orderedList", "listItem"):
        return [text for part in parts for text in part]
    return ["".join(text for part in parts for text in part)]


def _adf_of_text(text: str) -> dict[str, Any]:
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in text.split("\n")
        if line
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


@dataclass(frozen=True)
class AdfText:
    """An ADF body written through Jira (or Confluence), answered back exactly as it was sent."""

    adf: dict[str, Any]

    def to_adf(self) -> dict[str, Any]:
        return self.adf

    def to_storage(self) -> str:
        return "".join(f"<p>{escape(line)}</p>" for line in _adf_text(self.adf) if line)

    def plain_text(self) -> str:
        return "\n".join(_adf_text(self.adf))


_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|pre|div|tr)>|<br\s*/?>", re.IGNORECASE)


@dataclass(frozen=True)
class StorageText:
    """A storage-format body written through Confluence, answered back exactly as it was sent.

    Asked for as ADF, it becomes paragraphs of its plain text: enough for a reader, not a
    faithful conversion (Confluence's own converter is not reproduced).
    """

    value: str

    def to_storage(self) -> str:
        return self.value

    def plain_text(self) -> str:
        lines = _TAG.sub("", _BLOCK_END.sub("\n", self.value)).split("\n")
        return "\n".join(unescape(line).strip() for line in lines if line.strip())

    def to_adf(self) -> dict[str, Any]:
        return _adf_of_text(self.plain_text())


def _adf_inline(node: Inline) -> dict[str, Any]:
    if isinstance(node, Mention):
        return {"type": "mention", "attrs": {"id": node.account_id, "text": f"@{node.name}"}}
    if isinstance(node, Emoji):
        return {
            "type": "emoji",
            "attrs": {"shortName": node.short_name, "id": node.code_point, "text": node.char},
        }
    marks: list[dict[str, Any]] = []
    if node.bold:
        marks.append({"type": "strong"})
    if node.italic:
        marks.append({"type": "em"})
    if node.code:
        marks.append({"type": "code"})
    if node.link:
        marks.append({"type": "link", "attrs": {"href": node.link}})
    if node.comment_ref:
        marks.append(
            {
                "type": "annotation",
                "attrs": {"id": node.comment_ref, "annotationType": "inlineComment"},
            }
        )
    result: dict[str, Any] = {"type": "text", "text": node.text}
    if marks:
        result["marks"] = marks
    return result


def _adf_paragraph(content: Sequence[Inline]) -> dict[str, Any]:
    return {"type": "paragraph", "content": [_adf_inline(node) for node in content]}


def _adf_block(block: Block) -> dict[str, Any]:
    if isinstance(block, Paragraph):
        return _adf_paragraph(block.content)
    if isinstance(block, Heading):
        return {
            "type": "heading",
            "attrs": {"level": block.level},
            "content": [{"type": "text", "text": block.text}],
        }
    if isinstance(block, ItemList):
        items = [{"type": "listItem", "content": [_adf_paragraph(item)]} for item in block.items]
        if block.ordered:
            return {"type": "orderedList", "attrs": {"order": 1}, "content": items}
        return {"type": "bulletList", "content": items}
    return {
        "type": "codeBlock",
        "attrs": {"language": block.language},
        "content": [{"type": "text", "text": block.text}],
    }


def _storage_inline(node: Inline) -> str:
    if isinstance(node, Mention):
        return f'<ac:link><ri:user ri:account-id="{escape(node.account_id)}" /></ac:link>'
    if isinstance(node, Emoji):
        return (
            f'<ac:emoticon ac:name="blue-star" ac:emoji-shortname="{escape(node.short_name)}" '
            f'ac:emoji-id="{node.code_point}" ac:emoji-fallback="{node.char}" />'
        )
    html = escape(node.text, quote=False)
    if node.code:
        html = f"<code>{html}</code>"
    if node.italic:
        html = f"<em>{html}</em>"
    if node.bold:
        html = f"<strong>{html}</strong>"
    if node.link:
        html = f'<a href="{escape(node.link)}">{html}</a>'
    if node.comment_ref:
        html = (
            f'<ac:inline-comment-marker ac:ref="{escape(node.comment_ref)}">{html}'
            "</ac:inline-comment-marker>"
        )
    return html


def _storage_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return "<p>" + "".join(_storage_inline(node) for node in block.content) + "</p>"
    if isinstance(block, Heading):
        return f"<h{block.level}>{escape(block.text, quote=False)}</h{block.level}>"
    if isinstance(block, ItemList):
        tag = "ol" if block.ordered else "ul"
        items = "".join(
            "<li><p>" + "".join(_storage_inline(node) for node in item) + "</p></li>"
            for item in block.items
        )
        return f"<{tag}>{items}</{tag}>"
    return (
        '<ac:structured-macro ac:name="code" ac:schema-version="1">'
        f'<ac:parameter ac:name="language">{escape(block.language)}</ac:parameter>'
        f"<ac:plain-text-body><![CDATA[{block.text}]]></ac:plain-text-body>"
        "</ac:structured-macro>"
    )


def _plain_inline(node: Inline) -> str:
    if isinstance(node, Mention):
        return f"@{node.name}"
    if isinstance(node, Emoji):
        return node.char
    return node.text


def _plain_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return "".join(_plain_inline(node) for node in block.content)
    if isinstance(block, Heading):
        return block.text
    if isinstance(block, ItemList):
        return "\n".join("".join(_plain_inline(n) for n in item) for item in block.items)
    return block.text


# --- text -----------------------------------------------------------------------------------------

EMOJI = (
    Emoji(":tada:", "1f389", "🎉"),
    Emoji(":rocket:", "1f680", "🚀"),
    Emoji(":warning:", "26a0", "⚠️"),
    Emoji(":white_check_mark:", "2705", "✅"),
    Emoji(":bug:", "1f41b", "🐛"),
    Emoji(":floppy_disk:", "1f4be", "💾"),
    Emoji(":thinking:", "1f914", "🤔"),
)

_VERBS = (
    "Fix",
    "Add",
    "Investigate",
    "Migrate",
    "Document",
    "Refactor",
    "Remove",
    "Update",
    "Résoudre",
    "Überprüfen",
    "修复",
    "Arreglar",
)
_OBJECTS = (
    "login timeout on Safari",
    "the café menu encoding (UTF‑8)",
    "Größenberechnung im Export",
    "CSV import for 日本語 filenames",
    "nightly backup job 💾",
    "rate limiter headers",
    "payment webhook retries",
    "the Ñandú theme colours",
    "search results pagination",
    "emoji in display names 😀",
    "PDF rendering of résumés",
    "Zürich office VPN profile",
    "the “Won't do” workflow",
    "Kundenportal: Passwort zurücksetzen",
    "報告書テンプレート",
    "mobile push notifications 📱",
    "SSO for Åland contractors",
    "dark mode contrast in Cyrillic (Привет)",
    "S3 lifecycle rule for archives",
    "flaky test test_über_alles",
)
_SENTENCES = (
    "Steps to reproduce are below; it happens on every second attempt.",
    "Die Änderung betrifft nur Kunden in der Schweiz und in Österreich.",
    "Le problème apparaît après la mise à jour de vendredi soir.",
    "この問題は日本語のファイル名でのみ発生します。",
    "El informe final está en la carpeta compartida.",
    "We agreed to ship this behind a feature flag first.",
    "Customers reported it through the support portal ☎️.",
    "Скриншот приложен, см. вложение.",
    "Rollback plan: revert the migration and restore from last night's backup.",
    "Performance regressed by ~12 % after the upgrade.",
    "Ήδη δοκιμάστηκε στο περιβάλλον staging.",
    "Please double-check the time zone handling around DST changes.",
    "Naïve date parsing was the root cause; coöperation with the API team helped.",
    "העדכון ייכנס לגרסה הבאה.",
    "Owner: platform team. Reviewer: whoever is on call this week.",
    "See the runbook before touching production.",
)
_HEADINGS = (
    "Context",
    "Hintergrund",
    "Décisions",
    "Next steps",
    "決定事項",
    "Open questions ❓",
    "Risques et mitigations",
)
_LIST_ITEMS = (
    "Check the dashboards",
    "Notify #ops-alerts",
    "Rotate the API token",
    "Über die Änderung informieren",
    "Mettre à jour la documentation",
    "Verify the restore in staging",
    "Close the incident 🎯",
    "ログを確認する",
)
_CODE = (
    ("python", 'def greet(name: str) -> str:\n    return f"Grüß Gott, {name}!"\n'),
    ("bash", 'curl -s -u "$EMAIL:$TOKEN" https://example.atlassian.net/rest/api/3/myself\n'),
    ("json", '{"status": "ok", "région": "eu-west-1"}\n'),
    ("sql", "SELECT count(*) FROM issues WHERE updated >= '2025-01-01';\n"),
)
_TITLE_TOPICS = (
    "Onboarding guide",
    "Runbook: Zahlungsdienst",
    "Architecture decision record",
    "Réunion d'équipe",
    "Incident review",
    "議事録",
    "Release checklist",
    "Guía de estilo",
    "Quarterly planning",
    "Glossaire",
    "On-call handbook 📟",
    "Design: offline mode",
    "Retrospective",
    "Сводка по инцидентам",
)


@dataclass(frozen=True)
class Person:
    """Whom a text may mention."""

    account_id: str
    display_name: str


class Writer:
    """Seeded, varied text: summaries, titles, sentences and whole documents."""

    def __init__(self, rng: random.Random, people: Sequence[Person]) -> None:
        self._rng = rng
        self._people = people

    def summary(self) -> str:
        summary = f"{self._rng.choice(_VERBS)} {self._rng.choice(_OBJECTS)}"
        return summary if self._rng.random() < 0.8 else f"[{self._rng.randint(1, 9)}.x] {summary}"

    def title(self, number: int) -> str:
        # Titles are unique within a Confluence space; the number makes them so.
        return f"{self._rng.choice(_TITLE_TOPICS)} — {number}"

    def sentence(self) -> str:
        return self._rng.choice(_SENTENCES)

    def selection(self) -> str:
        """A short piece of text that an inline comment can be anchored on."""
        return self._rng.choice(_LIST_ITEMS)

    def _paragraph(self) -> Paragraph:
        content: list[Inline] = [Text(self.sentence())]
        roll = self._rng.random()
        if roll < 0.25 and self._people:
            person = self._rng.choice(self._people)
            content += [Text(" cc "), Mention(person.account_id, person.display_name)]
        elif roll < 0.45:
            content += [Text(" "), self._rng.choice(EMOJI)]
        elif roll < 0.6:
            content += [Text(" See "), Text("the docs", link="https://example.com/docs/über")]
        elif roll < 0.7:
            content += [Text(" "), Text("important", bold=True), Text(" / "), Text("x", code=True)]
        return Paragraph(tuple(content))

    def document(self, *, size: int = 3, anchors: Sequence[tuple[str, str]] = ()) -> Document:
        """A document of about `size` blocks; each (marker ref, text) anchor becomes marked text."""
        blocks: list[Block] = []
        for _ in range(max(1, size)):
            roll = self._rng.random()
            if roll < 0.55:
                blocks.append(self._paragraph())
            elif roll < 0.7:
                blocks.append(Heading(self._rng.choice((2, 3)), self._rng.choice(_HEADINGS)))
            elif roll < 0.9:
                count = self._rng.randint(2, 4)
                items = tuple((Text(item),) for item in self._rng.sample(_LIST_ITEMS, count))
                blocks.append(ItemList(items, ordered=self._rng.random() < 0.3))
            else:
                language, code = self._rng.choice(_CODE)
                blocks.append(CodeBlock(language, code))
        for ref, text in anchors:
            blocks.append(Paragraph((Text("Note: "), Text(text, comment_ref=ref), Text("."))))
        return Document(tuple(blocks))

    def comment(self) -> Document:
        return self.document(size=self._rng.choice((1, 1, 2)))


# --- files ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileKind:
    extension: str
    media_type: str
    description: str  # Confluence's `mediaTypeDescription`


FILE_KINDS = (
    FileKind("txt", "text/plain", "Text File"),
    FileKind("json", "application/json", "JSON File"),
    FileKind("csv", "text/csv", "CSV File"),
    FileKind("png", "image/png", "PNG Image"),
    FileKind("pdf", "application/pdf", "PDF Document"),
)
_STEMS = {
    "txt": ("notes", "Überblick résumé", "日本語メモ", "error log"),
    "json": ("config export", "payload", "données"),
    "csv": ("report Q3", "Kundenliste", "metrics"),
    "png": ("screenshot 2025-03-14", "diagram", "схема"),
    "pdf": ("report (final)", "contrat signé", "spec v2"),
}


@dataclass(frozen=True)
class GeneratedFile:
    filename: str
    kind: FileKind
    data: bytes


def file_kind(filename: str, media_type: str | None) -> FileKind:
    """The kind of an uploaded file: its declared media type, else guessed from its extension."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    for kind in FILE_KINDS:
        if media_type == kind.media_type or (not media_type and extension == kind.extension):
            return kind
    return FileKind(extension, media_type or "application/octet-stream", "File")


def make_file(rng: random.Random, suffix: str = "") -> GeneratedFile:
    """A small, valid file of a random kind; `suffix` keeps names unique within one item."""
    kind = rng.choice(FILE_KINDS)
    stem = rng.choice(_STEMS[kind.extension]) + suffix
    makers = {"txt": _text, "json": _json, "csv": _csv, "png": _png, "pdf": _pdf}
    return GeneratedFile(f"{stem}.{kind.extension}", kind, makers[kind.extension](rng))


def _text(rng: random.Random) -> bytes:
    lines = [rng.choice(_SENTENCES) for _ in range(rng.randint(2, 30))]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _json(rng: random.Random) -> bytes:
    document = {
        "generated": True,
        "values": [rng.randint(0, 10_000) for _ in range(rng.randint(3, 40))],
        "label": rng.choice(_OBJECTS),
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _csv(rng: random.Random) -> bytes:
    rows = ["id,name,amount"]
    rows += [
        f"{n},{rng.choice(_LIST_ITEMS)},{rng.randint(1, 99_999) / 100:.2f}"
        for n in range(1, rng.randint(3, 60))
    ]
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def _png(rng: random.Random) -> bytes:
    width, height = rng.randint(4, 32), rng.randint(4, 32)
    base = [rng.randrange(256) for _ in range(3)]
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type "None" for every scanline
        for x in range(width):
            rows += bytes(((base[0] + 7 * x) % 256, (base[1] + 11 * y) % 256, base[2]))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


def _pdf(rng: random.Random) -> bytes:
    line = f"Sandbox report {rng.randint(1, 9999)}: all systems nominal"
    stream = f"BT /F1 12 Tf 10 50 Td ({line}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
