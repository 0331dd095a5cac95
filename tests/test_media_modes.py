"""Frames reach the model with their real intensities and at their real times: every Pillow image mode
and bit depth becomes uint8 RGB scaled from the image's own range (16-bit mid-grey is 128, not
white), alpha composited on black; a video's frames are picked by presentation timestamp (a
variable-frame-rate Matroska file, written here byte by byte with OpenCV's JPEG encoder), an image
folder's by i / fps under the same rule."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from PIL import Image

from emozsl.data.media.decode import (
    MediaSettings,
    _frame_time,
    check_image,
    image_rgb,
    pick_by_time,
    read_image,
    sample_every,
    video_frames,
)
from emozsl.errors import EmozslError

W, H = 64, 8


def ramp(white: float, dtype) -> np.ndarray:
    """A horizontal gradient 0..white, (H, W)."""
    return np.tile(np.linspace(0, white, W), (H, 1)).astype(dtype)


def grey8(values: np.ndarray, white: float) -> np.ndarray:
    return np.repeat(np.rint(np.clip(values / white, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)


def saved(image: Image.Image, path, **kw):
    image.save(path, **kw)
    with Image.open(path) as back:  # the mode really written and read back
        return back.mode


def check_rgb(path, expected: np.ndarray, tolerance: int = 0):
    got = read_image(path, "u1")
    assert got.dtype == np.uint8 and got.shape == expected.shape
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= tolerance


# ---- images: mid-grey in every mode -----------------------------------------------------------

def u16(value):
    return Image.fromarray(np.full((H, W), value, np.uint16))


MID_GREY = {  # name: (image, file suffix, save options, expected mode read back, expected grey)
    "1 (white)": (lambda: Image.new("1", (W, H), 1), "png", {}, "1", 255),
    "L png": (lambda: Image.new("L", (W, H), 128), "png", {}, "L", 128),
    "L tiff": (lambda: Image.new("L", (W, H), 128), "tif", {}, "L", 128),
    "LA opaque": (lambda: Image.new("LA", (W, H), (128, 255)), "png", {}, "LA", 128),
    "P png": (lambda: Image.new("L", (W, H), 128).convert("P"), "png", {}, "P", 128),
    "RGB png": (lambda: Image.new("RGB", (W, H), (128,) * 3), "png", {}, "RGB", 128),
    "RGB tiff": (lambda: Image.new("RGB", (W, H), (128,) * 3), "tif", {}, "RGB", 128),
    "RGBA opaque": (lambda: Image.new("RGBA", (W, H), (128, 128, 128, 255)), "png", {}, "RGBA", 128),
    "CMYK tiff": (lambda: Image.new("CMYK", (W, H), (0, 0, 0, 127)), "tif", {}, "CMYK", 128),
    "CMYK jpeg": (lambda: Image.new("CMYK", (W, H), (0, 0, 0, 127)), "jpg", {"quality": 95}, "CMYK", 128),
    "YCbCr tiff": (lambda: Image.new("YCbCr", (W, H), (128, 128, 128)), "tif", {}, "YCbCr", 128),
    "LAB tiff (L* 50)": (lambda: Image.new("LAB", (W, H), (128, 128, 128)), "tif", {}, "LAB", 119),  # sRGB of L* 50
    "I;16 png": (lambda: u16(32768), "png", {}, "I;16", 128),
    "I;16 tiff": (lambda: u16(32768), "tif", {}, "I;16", 128),
    "I;16B tiff": (lambda: Image.frombytes("I;16B", (W, H), np.full(W * H, 32768, ">u2").tobytes()), "tif", {},
                   "I;16B", 128),
    "I 32-bit tiff": (lambda: Image.fromarray(np.full((H, W), 2 ** 30, np.int32)), "tif", {}, "I", 128),
    "F tiff 0..1": (lambda: Image.fromarray(np.full((H, W), 0.5, np.float32)), "tif", {}, "F", 128),
    "F tiff 0..255": (lambda: Image.fromarray(np.full((H, W), 128.0, np.float32)), "tif", {}, "F", 128),
}


@pytest.mark.parametrize("name", list(MID_GREY))
def test_mid_grey_of_every_mode(tmp_path, name):
    make, suffix, options, mode, grey = MID_GREY[name]
    path = tmp_path / f"frame.{suffix}"
    assert saved(make(), path, **options) == mode
    check_image(path, "u1")
    check_rgb(path, np.full((H, W, 3), grey, np.uint8), tolerance=1 if suffix == "jpg" else 0)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("suffix", ["png", "tif"])
def test_16_bit_files_written_by_opencv(tmp_path, channels, suffix):
    cv2 = pytest.importorskip("cv2")
    pixels = np.full((H, W, channels), 32768, np.uint16).squeeze()
    if channels == 4:
        pixels[..., 3] = 65535  # opaque
    path = tmp_path / f"frame.{suffix}"
    cv2.imwrite(str(path), pixels)
    check_image(path, "u1")
    check_rgb(path, np.full((H, W, 3), 128, np.uint8))


@pytest.mark.parametrize("maxval,value", [(65535, 32768), (1023, 512)])
def test_16_bit_pgm_read_as_mode_i(tmp_path, maxval, value):
    path = tmp_path / "frame.pgm"  # Pillow reads it as mode I, maxval scaled to 16 bits
    path.write_bytes(f"P5\n{W} {H}\n{maxval}\n".encode() + np.full(W * H, value, ">u2").tobytes())
    check_rgb(path, np.full((H, W, 3), 128, np.uint8))


# ---- images: gradients ------------------------------------------------------------------------

def test_gradients_keep_their_intensities(tmp_path):
    eight = ramp(255, np.uint8)
    cases = [  # image, suffix, expected
        (Image.fromarray(eight), "png", grey8(eight, 255)),
        (Image.fromarray(np.stack([eight, eight[:, ::-1], eight // 2], axis=2)), "png",
         np.stack([eight, eight[:, ::-1], eight // 2], axis=2)),
        (Image.fromarray(ramp(65535, np.uint16)), "png", grey8(ramp(65535, np.uint16), 65535)),
        (Image.fromarray(ramp(65535, np.uint16)), "tif", grey8(ramp(65535, np.uint16), 65535)),
        (Image.fromarray(ramp(2 ** 31 - 1, np.int32)), "tif", grey8(ramp(2 ** 31 - 1, np.int32), 2 ** 31 - 1)),
        (Image.fromarray(ramp(1.0, np.float32)), "tif", grey8(ramp(1.0, np.float32), 1.0)),
        (Image.fromarray(ramp(255.0, np.float32)), "tif", grey8(ramp(255.0, np.float32), 255.0)),
        (Image.fromarray(eight.astype(np.uint16) * 257), "png", grey8(eight, 255)),  # 8-bit data in 16 bits
    ]
    for k, (image, suffix, expected) in enumerate(cases):
        path = tmp_path / f"ramp{k}.{suffix}"
        image.save(path)
        check_rgb(path, expected)
    assert read_image(tmp_path / "ramp2.png", "u1")[0, -1, 0] == 255  # 16-bit white is white
    assert read_image(tmp_path / "ramp2.png", "u1")[0, 0, 0] == 0


def test_floats_outside_their_range_are_clipped_and_non_finite_ones_refused(tmp_path):
    values = np.tile(np.array([-5.0, 0.0, 100.0, 255.0, 300.0, 1e6], np.float32), (H, 1))
    Image.fromarray(values).save(tmp_path / "f.tif")
    assert read_image(tmp_path / "f.tif", "u1")[0, :, 0].tolist() == [0, 0, 100, 255, 255, 255]
    values[0, 0] = np.nan
    Image.fromarray(values).save(tmp_path / "nan.tif")
    with pytest.raises(EmozslError, match=r"^utterance u1: .*nan.tif: cannot read image \(the image holds "
                                          r"non-finite values\)$"):
        read_image(tmp_path / "nan.tif", "u1")


def test_images_without_a_declared_depth():
    """Pillow 10.0 reads a 16-bit PNG as mode I (no TIFF tags): 0..65535; signed 16-bit TIFFs are
    scaled by 32767 (a TIFF's declared depth is covered by the gradients)."""
    image = Image.fromarray(np.full((H, W), 32768, np.int32))
    assert image.mode == "I" and image_rgb(image)[0, 0].tolist() == [128] * 3
    assert image_rgb(Image.new("I;16N", (W, H), 65535))[0, 0].tolist() == [255] * 3


# ---- images: alpha ----------------------------------------------------------------------------

def left_black(grey: int) -> np.ndarray:
    """The (H, W, 3) image of `grey` whose first 16 columns are black."""
    image = np.full((H, W, 3), grey, np.uint8)
    image[:, :16] = 0
    return image


def test_alpha_is_composited_on_black(tmp_path):
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[:, :16, 3], rgba[:, 16:32, 3], rgba[:, 32:, 3] = 0, 128, 255
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray(rgba).save(tmp_path / "rgba.tif")
    expected = np.zeros((H, W, 3), np.uint8)
    expected[:, 16:32], expected[:, 32:] = 100, 200  # 200 * 128 / 255 = 100.4
    check_rgb(tmp_path / "rgba.png", expected)
    check_rgb(tmp_path / "rgba.tif", expected)

    la = np.stack([np.full((H, W), 200, np.uint8), rgba[..., 3]], axis=2)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    check_rgb(tmp_path / "la.png", expected)

    palette = Image.fromarray(np.where(rgba[..., 3] == 0, 0, 1).astype(np.uint8), "P")
    palette.putpalette([255, 255, 255, 200, 200, 200])  # entry 0 (white) is transparent
    assert saved(palette, tmp_path / "p.png", transparency=0) == "P"
    check_rgb(tmp_path / "p.png", np.where(rgba[..., :3] * (rgba[..., 3:] > 0) > 0, 200, 0).astype(np.uint8))

    grey = Image.new("L", (W, H), 128)
    grey.paste(77, (0, 0, 16, H))
    assert saved(grey, tmp_path / "l.png", transparency=77) == "L"  # a transparent grey (tRNS)
    check_rgb(tmp_path / "l.png", left_black(128))

    deep = np.full((H, W), 32768, np.uint16)
    deep[:, :16] = 1000
    assert saved(Image.fromarray(deep), tmp_path / "i16.png", transparency=1000) == "I;16"
    check_rgb(tmp_path / "i16.png", left_black(128))


def test_premultiplied_alpha_keeps_its_colour():
    assert image_rgb(Image.new("RGBa", (W, H), (100, 50, 25, 128)))[0, 0].tolist() == [100, 50, 25]
    assert image_rgb(Image.new("La", (W, H), (100, 128)))[0, 0].tolist() == [100] * 3


# ---- frame times ------------------------------------------------------------------------------

def test_pick_by_time_on_irregular_timestamps():
    times = [0.0, 0.033, 0.066, 0.1, 0.4, 1.0, 1.01, 1.02, 1.7, 2.1]
    assert pick_by_time(times, 0.5) == ([0, 5, 8, 9], 0)  # 1.0 stands for 0.5 and 1.0; next due 1.5
    assert pick_by_time(times, 0.5, limit=2) == ([0, 5], 2)
    assert pick_by_time(times, 0.1) == ([0, 3, 4, 5, 8, 9], 0)
    assert pick_by_time([3.2, 3.5, 3.7, 4.2], 0.5) == ([0, 2, 3], 0)  # from the first frame's time
    assert pick_by_time([0.0, 0.4996, 0.9], 0.5) == ([0, 1], 0)  # container ms rounding: on time
    assert pick_by_time([], 0.5) == ([], 0)


def old_pick(count: int, fps: float, interval: float) -> list[int]:
    """The selection by index / fps before timestamps (accumulated due times)."""
    kept, due = [], 0.0
    for index in range(count):
        if index / fps + 1e-9 >= due:
            kept.append(index)
            due += interval
    return kept


@pytest.mark.parametrize("fps", [0.5, 1, 2, 3, 4, 10, 24, 25, 30, 60])
def test_constant_rates_keep_the_frames_they_kept(fps):
    items = list(range(int(fps * 40) + 7))
    new = sample_every(items, fps, 0.5)
    assert new == pick_by_time([i / fps for i in items], 0.5)[0] == old_pick(len(items), fps, 0.5)
    if float(fps * 0.5).is_integer():  # the former stride
        assert new == items[::max(1, round(fps * 0.5))]


def test_folder_at_a_rate_with_no_whole_stride_keeps_two_frames_a_second():
    kept = sample_every(list(range(25 * 80)), 25, 0.5)  # 12.5 frames per interval: 13 and 12 alternate
    assert len(kept) == 160 and kept[:4] == [0, 13, 25, 38]


def test_missing_timestamps_fall_back_to_the_stated_rate():
    assert _frame_time(0.0, None, 10) == 0.0
    assert _frame_time(0.0, 0.0, 10) == pytest.approx(0.1)  # a backend without timestamps
    assert _frame_time(250.0, 0.1, 10) == 0.25
    assert _frame_time(50.0, 0.1, 10) == pytest.approx(0.2)  # not after the previous one
    assert _frame_time(math.nan, None, 10) == 0.0


def test_visual_cache_key_names_the_decoding():
    settings = MediaSettings()
    assert "decoding=" in settings.key("visual") and "decoding" not in settings.key("audio")


# ---- videos -----------------------------------------------------------------------------------

def _element(ident: bytes, payload) -> bytes:
    """An EBML element (Matroska): id, an 8-byte size, the payload."""
    if isinstance(payload, int):
        payload = payload.to_bytes(max(1, (payload.bit_length() + 7) // 8), "big")
    elif isinstance(payload, str):
        payload = payload.encode()
    return ident + b"\x01" + len(payload).to_bytes(7, "big") + payload


def write_vfr_mkv(path, frames: list[np.ndarray], times_ms: list[int], stated_fps: float):
    """A Motion-JPEG Matroska file whose frames are at `times_ms` (one cluster per frame), stating
    `stated_fps` (DefaultDuration) as a phone's recording states its nominal rate."""
    cv2 = pytest.importorskip("cv2")
    e = _element
    height, width = frames[0].shape[:2]
    header = e(b"\x1a\x45\xdf\xa3", e(b"\x42\x86", 1) + e(b"\x42\xf7", 1) + e(b"\x42\xf2", 4) + e(b"\x42\xf3", 8)
                                    + e(b"\x42\x82", "matroska") + e(b"\x42\x87", 4) + e(b"\x42\x85", 2))
    info = e(b"\x15\x49\xa9\x66", e(b"\x2a\xd7\xb1", 1_000_000) + e(b"\x4d\x80", "test") + e(b"\x57\x41", "test"))
    track = (e(b"\xd7", 1) + e(b"\x73\xc5", 1) + e(b"\x83", 1) + e(b"\x86", "V_MJPEG") + e(b"\x9c", 0)
             + e(b"\x23\xe3\x83", round(1e9 / stated_fps)) + e(b"\xe0", e(b"\xb0", width) + e(b"\xba", height)))
    clusters = b""
    for frame, time in zip(frames, times_ms):
        jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
        block = b"\x81" + struct.pack(">hB", 0, 0x80) + jpeg  # track 1, time 0 in its cluster, keyframe
        clusters += e(b"\x1f\x43\xb6\x75", e(b"\xe7", time) + e(b"\xa3", block))
    path.write_bytes(header + e(b"\x18\x53\x80\x67", info + e(b"\x16\x54\xae\x6b", e(b"\xae", track)) + clusters))
    return path


def numbered_frames(count: int) -> list[np.ndarray]:
    return [np.full((48, 64, 3), 10 + 20 * k, np.uint8) for k in range(count)]


def numbers(frames: list[np.ndarray]) -> list[int]:
    return [round((int(np.median(f)) - 10) / 20) for f in frames]


def test_variable_frame_rate_video_is_sampled_by_timestamp(tmp_path):
    times = [0, 33, 66, 100, 400, 1000, 1010, 1020, 1700, 2100]  # a burst, a stall, a trickle
    video = write_vfr_mkv(tmp_path / "phone.mkv", numbered_frames(len(times)), times, stated_fps=30)
    frames, cut = video_frames(video, "u1", 0.5, 100)
    assert numbers(frames) == [0, 5, 8, 9] and cut == 0  # by index / 30 fps: frame 0 only
    assert frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    frames, cut = video_frames(video, "u1", 0.5, 2)
    assert numbers(frames) == [0, 5] and cut == 2


def test_constant_rate_video_keeps_the_frames_it_kept(tmp_path):
    cv2 = pytest.importorskip("cv2")
    video = tmp_path / "cfr.avi"
    fps = 6  # 3 frames a 500 ms interval
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for frame in numbered_frames(12):
        writer.write(frame)
    writer.release()
    frames, cut = video_frames(video, "u1", 0.5, 100)
    assert numbers(frames) == old_pick(12, fps, 0.5) == [0, 3, 6, 9] and cut == 0
    frames, cut = video_frames(video, "u1", 0.4, 100)  # 2.4 frames an interval: no whole stride
    assert numbers(frames) == old_pick(12, fps, 0.4) == [0, 3, 5, 8, 10] and cut == 0
