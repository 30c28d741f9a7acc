"""Text encodings of attribute data: names found in files, and detection from raw bytes.

Chinese data arrives as UTF-8 or as GBK (ArcGIS writes "936", older tools "GB2312"). Read
one as the other and 海州区 becomes 娴峰窞鍖 or æµ·å·žåŒº, so the encoding is taken from
what the file declares and checked against its bytes, or detected from a bounded sample.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

#: Tried in order when nothing is declared. UTF-8 first: strict UTF-8 almost never accepts
#: GBK text by accident, whereas GB18030 decodes nearly any byte string.
DETECTION_ORDER = ("utf-8", "gb18030")

#: Encodings a Shapefile may be written in, as Python codec -> name written to the .cpg.
WRITE_ENCODINGS = {"utf-8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030"}

# Code page numbers Python does not know as "cp<n>".
_CODE_PAGES = {"65001": "utf-8", "936": "gbk", "54936": "gb18030", "20936": "gb2312"}

# GBK and GB2312 are read as GB18030, their superset: files labelled GB2312 often hold
# GBK-only characters (镕, 喆), and decoding with the superset never loses them.
_READ_AS = {"gbk": "gb18030", "gb2312": "gb18030"}

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class Undecodable(NamedTuple):
    """Where a sample first fails to decode, and why."""

    where: str
    reason: str


def codec_for(name: str) -> str | None:
    """The Python codec for an encoding name as written in a .cpg file or by a person.

    >>> [codec_for(n) for n in ("UTF-8", "65001", "936", "GBK", "ANSI 936", "88591", "LDID/77")]
    ['utf-8', 'utf-8', 'gbk', 'gbk', 'gbk', 'iso8859-1', None]
    """
    text = name.strip().lstrip("\ufeff").strip().lower()
    if text.startswith("ansi "):
        text = text[5:].strip()
    if not text or text.startswith("ldid/"):
        return None
    if text in _CODE_PAGES:
        text = _CODE_PAGES[text]
    elif text.isdigit():
        text = f"iso8859-{text[4:]}" if text.startswith("8859") and len(text) > 4 else f"cp{text}"
    try:
        return codecs.lookup(text).name
    except LookupError:
        return None


def reading_codec(codec: str) -> str:
    """The codec to read text declared as ``codec`` with (GBK and GB2312 as GB18030).

    >>> reading_codec("gbk"), reading_codec("utf-8")
    ('gb18030', 'utf-8')
    """
    return _READ_AS.get(codec, codec)


def first_undecodable(samples: Iterable[tuple[str, bytes]], codec: str) -> Undecodable | None:
    """The first labelled sample that is not valid text in ``codec``, or None if all are.

    A character cut short at the end of a sample is accepted: fixed-width fields and
    sample boundaries cut text mid-character without the text being wrong.

    >>> first_undecodable([("record 1", "海州区".encode("gbk"))], "utf-8").where
    'record 1'
    >>> first_undecodable([("record 1", "海州区".encode("utf-8")[:-1])], "utf-8") is None
    True
    """
    for where, data in samples:
        try:
            codecs.getincrementaldecoder(codec)("strict").decode(data, final=False)
        except UnicodeDecodeError as exc:
            bad = data[exc.start : exc.start + 4].hex(" ")
            return Undecodable(where, f"bytes {bad} at offset {exc.start}: {exc.reason}")
    return None


def detect(samples: Sequence[tuple[str, bytes]]) -> str | None:
    """The first codec of :data:`DETECTION_ORDER` that decodes every sample, or None.

    >>> detect([("r", "永久基本农田".encode("gbk"))]), detect([("r", "永久基本农田".encode())])
    ('gb18030', 'utf-8')
    """
    for codec in DETECTION_ORDER:
        if first_undecodable(samples, codec) is None:
            return codec
    return None


def sniff_text_file(path: Path, max_bytes: int = 8 << 20, block: int = 1 << 20) -> str | None:
    """The codec of a text file from its byte-order mark or its first ``max_bytes`` bytes.

    Reads in blocks, so memory stays at one block whatever the file size. Returns a codec
    that also strips a BOM (``utf-8-sig``) and None when no candidate decodes the sample.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        for bom, codec in _BOMS:
            if head.startswith(bom):
                return codec
        decoders = {c: codecs.getincrementaldecoder(c)("strict") for c in DETECTION_ORDER}
        data, seen = head, 0
        while data and decoders and seen < max_bytes:
            for codec, decoder in list(decoders.items()):
                try:
                    decoder.decode(data, final=False)
                except UnicodeDecodeError:
                    del decoders[codec]
            seen += len(data)
            data = handle.read(block)
    for codec in DETECTION_ORDER:
        if codec in decoders:
            return "utf-8-sig" if codec == "utf-8" else codec
    return None
