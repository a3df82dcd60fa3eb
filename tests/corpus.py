"""Bad and odd inputs, generated from the real media in ../shared/data/media when a test asks.

No binary file is committed: each `Case` writes its file into a folder it is
given. `tests/test_corpus.py` sends every case through the three doors (the
Python API, the CLI and the Streamlit pages) and writes the outcome table to
test-output/corpus_table.md; `python -m tests.corpus` lists the cases.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from PIL import Image

from emodetect.app.samples import MEDIA_DIR
from emodetect.limits import MAX_FACES


@dataclass(frozen=True)
class Case:
    """One input: how to write it, and what every door must make of it.

    Exactly one of `faces` (the input works: faces found in a picture, face
    tracks in a clip) and `error` (a phrase the one-line refusal contains) is set.
    """

    name: str  # the file name, extension included, as a visitor would give it
    kind: str  # "image" or "video"
    what: str  # one line for the table
    write: Callable[[Path], None]
    faces: int | None = None
    error: str | None = None
    check: Callable[[Any], None] | None = None  # more API-door checks, on the RGB array or the VideoAnalysis

    def make(self, folder: Path) -> Path:
        path = folder / self.name
        self.write(path)
        return path

    @property
    def expected(self) -> str:
        if self.error is not None:
            return f'error "{self.error}"'
        return f"ok, {self.faces} face{'' if self.faces == 1 else 's'}"


# --- sources -------------------------------------------------------------------------------------------------

@functools.cache
def media_bytes(name: str) -> bytes:
    return (MEDIA_DIR / name).read_bytes()


def picture(name: str) -> Image.Image:
    """A sample picture, decoded to RGB (a fresh copy each time)."""
    return Image.open(io.BytesIO(media_bytes(name))).convert("RGB")


def upright(name: str) -> np.ndarray:
    return np.asarray(picture(name))


@functools.cache
def _face_crop() -> Image.Image:
    """The smiling man's face with some hair and shoulders around it (his detection box, widened)."""
    x, y, w, h = 97, 106, 181, 181
    return picture("smiling_man.jpg").crop((x - w // 2, y - h // 2, x + w + w // 2, y + h + h // 4))


def face_grid(count: int, columns: int) -> Image.Image:
    """`count` copies of the real face, 110-190 px, one per 200 px cell on a light background."""
    rows = -(-count // columns)
    canvas = Image.new("RGB", (columns * 200, rows * 200), (235, 235, 235))
    for i in range(count):
        side = 110 + 20 * (i % 5)
        row, column = divmod(i, columns)
        canvas.paste(_face_crop().resize((side, side)), (column * 200 + (200 - side) // 2,
                                                         row * 200 + (200 - side) // 2))
    return canvas


def _with_alpha(image: Image.Image) -> Image.Image:
    """RGBA: the picture opaque in the middle, a fully transparent 30 px border."""
    alpha = Image.new("L", image.size, 0)
    alpha.paste(255, (30, 30, image.width - 30, image.height - 30))
    image = image.copy()
    image.putalpha(alpha)
    return image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int) -> bytes:
    """A valid side×side 1-bit PNG, all black: a few hundred kB that decode to side² pixels."""
    row = b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """The smiling man's JPEG with its frame header (SOF0) saying width×height."""
    data = bytearray(media_bytes("smiling_man.jpg"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def zip_of(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, media_bytes(name))
    return buffer.getvalue()


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def exif_rotated(orientation: int) -> bytes:
    """The smiling man stored as a camera would for EXIF `orientation`, with that tag: viewers show him upright.

    The stored pixels come from numpy, not from Pillow's own orientation table.
    """
    stored = {2: lambda a: a[:, ::-1], 3: lambda a: np.rot90(a, 2), 6: lambda a: np.rot90(a, 1),
              8: lambda a: np.rot90(a, -1)}[orientation](upright("smiling_man.jpg"))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(Image.fromarray(np.ascontiguousarray(stored)), "JPEG", quality=95, exif=exif)


def _clip_frames(name: str, size: tuple[int, int] = (192, 256)) -> np.ndarray:
    return np.asarray(picture(name).resize(size))


def write_clip(path: Path, frames: list[np.ndarray], times_ms: list[int] | None = None, codec: str = "mpeg4",
               fmt: str | None = None, rotation: int | None = None) -> None:
    """Encode RGB frames with PyAV at 25 fps, or at the given presentation times in milliseconds.

    `rotation` is a display-matrix angle, counterclockwise as FFmpeg states it
    (a phone held upright records -90: players turn the stored frames clockwise).
    """
    time_base = Fraction(1, 25) if times_ms is None else Fraction(1, 1000)
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        stream.time_base = stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for image, pts in zip(frames, times_ms or range(len(frames))):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = pts, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def face_clip(path: Path, count: int = 10, **options) -> None:
    write_clip(path, [_clip_frames("smiling_man.jpg")] * count, **options)


def audio_only(path: Path) -> None:
    """Half a second of AAC silence in an MP4 (what a voice memo looks like)."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100)
        for i in range(22):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def patched(source: Callable[[Path], None], patch: Callable[[bytearray], None]) -> Callable[[Path], None]:
    """Write with `source`, then change bytes of the file in place."""
    def write(path: Path) -> None:
        source(path)
        data = bytearray(path.read_bytes())
        patch(data)
        path.write_bytes(bytes(data))
    return write


def zero_avi_rate(data: bytearray) -> None:
    """AVI header: 0 µs per frame (avih) and rate 0 / scale 0 (the video strh)."""
    avih = data.index(b"avih")
    data[avih + 8:avih + 12] = bytes(4)
    strh = data.index(b"strh")
    assert data[strh + 8:strh + 12] == b"vids"
    data[strh + 28:strh + 36] = bytes(8)  # dwScale, dwRate


def zero_mp4_durations(data: bytearray) -> None:
    """MP4 sample table: every frame lasts 0 ticks (stts)."""
    stts = data.index(b"stts")
    for entry in range(struct.unpack(">I", data[stts + 8:stts + 12])[0]):
        data[stts + 16 + 8 * entry:stts + 20 + 8 * entry] = bytes(4)


def zero_mp4_timescale(data: bytearray) -> None:
    """MP4 media header: 0 ticks per second (mdhd version 0)."""
    mdhd = data.index(b"mdhd")
    data[mdhd + 16:mdhd + 20] = bytes(4)


def faststart_copy(path: Path) -> None:
    """phone_at_night.mp4 remuxed with the index (moov) first, as streaming sites serve it."""
    with av.open(str(MEDIA_DIR / "phone_at_night.mp4")) as source, \
            av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as target:
        stream = target.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                target.mux(packet)


def cut(source: Callable[[Path], None], keep: float) -> Callable[[Path], None]:
    """Write with `source`, then keep only the first `keep` share of the bytes (an interrupted download)."""
    def truncate(data: bytearray) -> None:
        del data[int(len(data) * keep):]
    return patched(source, truncate)


def copy_of(name: str) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(media_bytes(name))


def data(content: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content() if callable(content) else content)


# --- API-door checks beyond the face count ---------------------------------------------------------------------

def same_picture(reference: str, tolerance: float = 6.0) -> Callable[[np.ndarray], None]:
    """The decoded array is the reference picture, upright: same shape, pixels close (JPEG noise aside)."""
    def check(image: np.ndarray) -> None:
        expected = upright(reference)
        assert image.shape == expected.shape, f"{image.shape} is not upright {expected.shape}"
        assert np.abs(image.astype(int) - expected).mean() < tolerance
    return check


def timestamps(expected_ms: list[int]) -> Callable[[Any], None]:
    def check(analysis: Any) -> None:
        times = analysis.timeline.drop_duplicates("frame")["time_s"].to_numpy()
        np.testing.assert_allclose(times, np.array(expected_ms) / 1000, atol=1e-3)
    return check


def upright_frames(analysis: Any) -> None:
    """The portrait clip plays portrait: the probe says so and the face box is inside a 192×256 frame."""
    assert (analysis.info.width, analysis.info.height) == (192, 256)
    assert analysis.timeline["y"].max() + analysis.timeline["h"].max() <= 256


def times_increase(analysis: Any) -> None:
    times = analysis.timeline.drop_duplicates("frame")["time_s"].to_numpy()
    assert (np.diff(times) > 0).all() and times[-1] >= 0.2, times


# --- the corpus ------------------------------------------------------------------------------------------------

VFR_MS = [0, 40, 80, 500, 520, 1300, 1310, 1320, 2100]  # gaps under the tracker's 1 s memory

IMAGE_CASES = [
    Case("empty.jpg", "image", "zero-byte file", data(b""), error="is empty (0 bytes)"),
    Case("empty.png", "image", "zero-byte file", data(b""), error="is empty (0 bytes)"),
    Case("notes.jpg", "image", "text file named .jpg", data(b"shopping list: eggs, milk\n" * 20),
         error="is not an image file"),
    Case("page.png", "image", "HTML error page saved as .png",
         data(b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>\n"), error="is not an image file"),
    Case("photos.png", "image", "zip archive named .png", data(lambda: zip_of("smiling_man.jpg")),
         error="is not an image file"),
    Case("half.jpg", "image", "JPEG cut in half", data(lambda: media_bytes("smiling_man.jpg")[:16_000]),
         error="is damaged or incomplete"),
    Case("header_only.jpg", "image", "JPEG headers, no picture data",
         data(lambda: media_bytes("smiling_man.jpg")[:600]), error="is damaged or incomplete"),
    Case("half.png", "image", "PNG cut in half",
         data(lambda: (png := encoded(picture("smiling_man.jpg"), "PNG"))[:len(png) // 2]),
         error="is damaged or incomplete"),
    Case("bad_crc.png", "image", "PNG with a corrupted header checksum",
         data(lambda: (png := encoded(picture("smiling_man.jpg"), "PNG"))[:29] + bytes([png[29] ^ 0xFF]) + png[30:]),
         error="is damaged or incomplete"),
    Case("bomb.png", "image", "20000×20000 PNG (decompression bomb, 400 kB)", data(lambda: bomb_png(20_000)),
         error="up to 50 megapixels"),
    Case("huge_header.jpg", "image", "JPEG whose header claims 20000×20000",
         data(lambda: jpeg_claiming(20_000, 20_000)), error="up to 50 megapixels"),
    Case("pixel.png", "image", "1×1 PNG", data(lambda: encoded(Image.new("RGB", (1, 1), "white"), "PNG")), faces=0),
    Case("strip.png", "image", "4000×2 PNG strip", data(lambda: encoded(picture("smiling_man.jpg").resize((4000, 2)),
                                                                        "PNG")), faces=0),
    Case("rgba.png", "image", "RGBA PNG, transparent border",
         data(lambda: encoded(_with_alpha(picture("smiling_man.jpg")), "PNG")), faces=1),
    Case("palette.png", "image", "palette (P) PNG, 64 colours",
         data(lambda: encoded(picture("smiling_man.jpg").quantize(64), "PNG")), faces=1),
    Case("palette_transparent.gif", "image", "palette GIF with a transparent colour",
         data(lambda: encoded(picture("smiling_man.jpg").quantize(64), "GIF", transparency=0)), faces=1),
    Case("gray.png", "image", "8-bit grayscale PNG", data(lambda: encoded(picture("smiling_man.jpg").convert("L"),
                                                                          "PNG")), faces=1),
    Case("gray_alpha.png", "image", "grayscale + alpha PNG",
         data(lambda: encoded(_with_alpha(picture("smiling_man.jpg")).convert("LA"), "PNG")), faces=1),
    Case("gray16.png", "image", "16-bit grayscale PNG",
         data(lambda: encoded(Image.fromarray(np.asarray(picture("smiling_man.jpg").convert("L"), np.uint16) * 257),
                              "PNG")), faces=1),
    Case("rgb16.png", "image", "16-bit RGB PNG (48 bits per pixel)",
         data(lambda: cv2.imencode(".png", cv2.cvtColor(upright("smiling_man.jpg"), cv2.COLOR_RGB2BGR)
                                   .astype(np.uint16) * 257)[1].tobytes()), faces=1,
         check=same_picture("smiling_man.jpg", tolerance=1.0)),
    *(Case(f"exif_{o}.jpg", "image", f"EXIF orientation {o} ({turn})", data(functools.partial(exif_rotated, o)),
           faces=1, check=same_picture("smiling_man.jpg"))
      for o, turn in [(2, "mirrored"), (3, "upside down"), (6, "turned 90° CW"), (8, "turned 90° CCW")]),
    Case("cmyk.jpg", "image", "CMYK JPEG", data(lambda: encoded(picture("smiling_man.jpg").convert("CMYK"), "JPEG",
                                                                 quality=95)),
         faces=1, check=same_picture("smiling_man.jpg", tolerance=8.0)),
    Case("animated.gif", "image", "animated GIF (face first, cartoon second)",
         data(lambda: encoded(picture("smiling_man.jpg"), "GIF", save_all=True,
                              append_images=[picture("cartoon_no_people.jpg").resize((381, 384))], duration=500)),
         faces=1),
    Case("photo.webp", "image", "WebP", data(lambda: encoded(picture("smiling_man.jpg"), "WEBP", quality=90)),
         faces=1),
    Case("photo.bmp", "image", "BMP", data(lambda: encoded(picture("smiling_man.jpg"), "BMP")), faces=1),
    Case("really_a_png.jpg", "image", "PNG named .jpg", data(lambda: encoded(picture("smiling_man.jpg"), "PNG")),
         faces=1),
    Case("trailing_junk.jpg", "image", "JPEG with 10 kB of junk after its end",
         data(lambda: media_bytes("smiling_man.jpg") + bytes(range(256)) * 40), faces=1),
    Case("cartoon.jpg", "image", "no face (cartoon)", copy_of("cartoon_no_people.jpg"), faces=0),
    Case("faces_30.jpg", "image", "30 real face crops in a grid", data(lambda: encoded(face_grid(30, 6), "JPEG")),
         faces=30),
    Case("faces_60.jpg", "image", f"60 faces: over the {MAX_FACES}-face limit",
         data(lambda: encoded(face_grid(60, 10), "JPEG")), faces=MAX_FACES),
]

VIDEO_CASES = [
    Case("empty.mp4", "video", "zero-byte file", data(b""), error="is empty (0 bytes)"),
    Case("notes.mp4", "video", "text file named .mp4", data(b"shopping list: eggs, milk\n" * 20),
         error="is not a video file"),
    Case("clips.mov", "video", "zip archive named .mov", data(lambda: zip_of("phone_at_night.mp4")),
         error="is not a video file"),
    Case("half.mp4", "video", "MP4 cut in half (index at the end: lost)",
         data(lambda: media_bytes("phone_at_night.mp4")[:len(media_bytes("phone_at_night.mp4")) // 2]),
         error="is not a video file"),
    Case("half_faststart.mp4", "video", "MP4 cut in half (index first: half the frames)",
         cut(faststart_copy, 0.5), faces=1),
    Case("voice_memo.mp4", "video", "audio only, no video stream", audio_only, error="has no video"),
    Case("zero_rate.avi", "video", "AVI header with frame rate 0", patched(
        lambda p: face_clip(p, codec="mjpeg", fmt="avi"), zero_avi_rate), faces=1, check=times_increase),
    Case("zero_durations.mp4", "video", "MP4 whose frames all last 0", patched(face_clip, zero_mp4_durations),
         faces=1, check=times_increase),
    Case("zero_timescale.mp4", "video", "MP4 with time scale 0 in its header", patched(face_clip, zero_mp4_timescale),
         error="no frames that can be decoded"),
    Case("vfr.mp4", "video", "variable frame rate (gaps of 10 ms to 0.8 s)",
         lambda p: face_clip(p, count=len(VFR_MS), times_ms=VFR_MS), faces=1, check=timestamps(VFR_MS)),
    Case("portrait.mp4", "video", "phone portrait clip (display matrix -90°)",
         lambda p: write_clip(p, [np.ascontiguousarray(np.rot90(_clip_frames("smiling_man.jpg"), 1))] * 5,
                              rotation=-90),
         faces=1, check=upright_frames),
    Case("upside_down.mp4", "video", "clip flagged to play turned 180°",
         lambda p: write_clip(p, [np.ascontiguousarray(np.rot90(_clip_frames("smiling_man.jpg"), 2))] * 5,
                              rotation=180), faces=1),
    Case("too_long.mp4", "video", "11 min 40 s clip (2 frames)", lambda p: face_clip(p, count=2, times_ms=[0, 700_000]),
         error="clips up to 10 min 00 s can be analysed"),
    Case("one_frame.mp4", "video", "a single frame", lambda p: face_clip(p, count=1), faces=1),
    Case("cartoon.mp4", "video", "no face (cartoon)",
         lambda p: write_clip(p, [_clip_frames("cartoon_no_people.jpg", (200, 148))] * 5), faces=0),
    Case("tiny.mp4", "video", "16×16 pixels", lambda p: write_clip(p, [_clip_frames("smiling_man.jpg", (16, 16))] * 5),
         faces=0),
    Case("odd_size.mkv", "video", "Matroska, 193×257 (odd sides)",
         lambda p: write_clip(p, [_clip_frames("smiling_man.jpg", (193, 257))] * 5, fmt="matroska"), faces=1),
    Case("photo.mp4", "video", "a JPEG photo named .mp4", copy_of("smiling_man.jpg"), faces=1),
]

CASES = IMAGE_CASES + VIDEO_CASES


if __name__ == "__main__":
    for case in CASES:
        print(f"{case.kind:5}  {case.name:26} {case.what:50} {case.expected}")
