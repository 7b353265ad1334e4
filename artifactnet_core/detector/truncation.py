"""Was a file cut short? Checks on the container, before any decoding.

Decoders report a truncated file unevenly: libsndfile silently shortens the frame count of a WAV
or AIFF file whose data chunk is cut, an Ogg stream has no total length at all, and FFmpeg may
decode what is there of an MP4. The container itself says more: the size of a WAV or AIFF data
chunk, the end-of-stream flag of an Ogg stream's last page, the sizes of an MP4's boxes.
:func:`container_shortfall` reads those (a few kilobytes at the start and the end of the file)
and says what is missing; :mod:`artifactnet_core.detector.audio` turns that into an error.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO


def container_shortfall(f: BinaryIO) -> str | None:
    """What shows that the file ``f`` was cut short, or ``None`` if nothing does.

    Parameters
    ----------
    f : binary file object
        Open for reading and seekable; its position is left anywhere.

    Returns
    -------
    str or None
        ``"the WAV header promises ... bytes of audio data, the file holds ..."`` and the like for
        WAV/AIFF (:func:`pcm_shortfall`), Ogg (:func:`ogg_shortfall`) and MP4
        (:func:`mp4_shortfall`); ``None`` for other formats and complete files.
    """
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(0)
    head = f.read(12)
    if len(head) == 12 and ((head[:4] in (b"RIFF", b"RIFX") and head[8:] == b"WAVE")
                            or (head[:4] == b"FORM" and head[8:] in (b"AIFF", b"AIFC"))):
        return pcm_shortfall(f, size, head)
    if head[:4] == b"OggS":
        return ogg_shortfall(f, size)
    if head[4:8] == b"ftyp":
        return mp4_shortfall(f, size)
    return None


def pcm_shortfall(f: BinaryIO, size: int, head: bytes) -> str | None:
    """Compare the declared size of the sample data chunk (WAV ``data``, AIFF ``SSND``) with the
    bytes the file holds after it; ``None`` when they agree or the size is left open
    (0 or 0xFFFFFFFF, written by streaming encoders)."""
    wav = head[:4] != b"FORM"
    order = ">" if head[:4] in (b"RIFX", b"FORM") else "<"
    data_id = b"data" if wav else b"SSND"
    pos = 12
    for _ in range(10_000):  # a real file has a handful of chunks
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            return None
        chunk_id, chunk_size = header[:4], struct.unpack(order + "I", header[4:])[0]
        if chunk_id == data_id:
            available = size - pos - 8
            if chunk_size in (0, 0xFFFFFFFF) or chunk_size <= available:
                return None
            kind = "WAV" if wav else "AIFF"
            return (f"the {kind} header promises {chunk_size:,} bytes of audio data, the file "
                    f"holds {available:,} ({100 * available / chunk_size:.1f} %)")
        pos += 8 + chunk_size + (chunk_size & 1)
    return None


def mp4_shortfall(f: BinaryIO, size: int) -> str | None:
    """Walk the top-level boxes of an MP4/M4A file: one that runs past the end of the file, or
    no index box (``moov``) at all, means the file was cut short or never finished."""
    pos, boxes = 0, []
    while pos + 8 <= size and len(boxes) < 10_000:
        f.seek(pos)
        header = f.read(16)
        box_size, box_type = struct.unpack(">I", header[:4])[0], header[4:8]
        if box_size == 1 and len(header) == 16:
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:  # the last box, to the end of the file
            box_size = size - pos
        if box_size < 8:
            return None  # not a box structure this walk understands: leave it to FFmpeg
        boxes.append(box_type)
        if pos + box_size > size:
            name = box_type.decode("latin-1")
            return (f"the MP4 box {name!r} promises {box_size:,} bytes, the file holds "
                    f"{size - pos:,} of it")
        pos += box_size
    if b"moov" not in boxes:
        return "the MP4 file has no index (moov box): cut short, or the recording never finished"
    return None


def _ogg_crc(data: bytes) -> int:
    """Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, unreflected, initial value 0)."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) ^ byte) & 0xFF]
    return crc


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
        table.append(r & 0xFFFFFFFF)
    return table


_CRC_TABLE = _crc_table()


def ogg_shortfall(f: BinaryIO, size: int) -> str | None:
    """Find the file's last intact Ogg page (its checksum holds); a stream that ends properly
    marks it end-of-stream. ``None`` when it does, or when no intact page is found at all."""
    span = min(size, 2 * 65_307)  # two pages of the largest size
    f.seek(size - span)
    tail = f.read(span)
    at = len(tail)
    while (at := tail.rfind(b"OggS", 0, at)) >= 0:
        if at + 27 > len(tail) or tail[at + 4] != 0:
            continue
        n_segments = tail[at + 26]
        body = sum(tail[at + 27:at + 27 + n_segments])
        end = at + 27 + n_segments + body
        if at + 27 + n_segments > len(tail) or end > len(tail):
            continue  # cut off (or a chance "OggS" inside data): look further back
        page = tail[at:end]
        stored = struct.unpack("<I", page[22:26])[0]
        if _ogg_crc(page[:22] + b"\0\0\0\0" + page[26:]) != stored:
            continue
        if tail[at + 5] & 0x04:
            return None
        return "the Ogg stream ends without its end-of-stream page (the file was cut short)"
    return None
