"""Reading and writing short videos as (T, 3, H, W) uint8 arrays.

Reads .npy (T, H, W, 3) or (T, 3, H, W), uint8 or float in [0, 1]; .gif (Pillow); .mp4 and
other containers through imageio (`pip install imageio[ffmpeg]`), if installed. Anything
unreadable or of the wrong shape raises VideoError with what was expected.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence


class VideoError(ValueError):
    """A video that cannot be read or does not have the expected shape."""


def _to_uint8_tchw(frames: np.ndarray, source: str) -> np.ndarray:
    if frames.ndim != 4:
        raise VideoError(f"{source}: expected frames of shape (T, H, W, 3) or (T, 3, H, W), got {frames.shape}")
    if frames.shape[-1] == 3 and frames.shape[1] != 3:
        frames = frames.transpose(0, 3, 1, 2)
    if frames.shape[1] != 3:
        raise VideoError(f"{source}: expected 3 colour channels, got shape {frames.shape}")
    if frames.dtype == np.uint8:
        return np.ascontiguousarray(frames)
    if np.issubdtype(frames.dtype, np.floating):
        if not np.isfinite(frames).all() or frames.min() < 0 or frames.max() > 1:
            raise VideoError(f"{source}: float frames must be finite and in [0, 1]")
        return np.round(frames * 255).astype(np.uint8)
    raise VideoError(f"{source}: expected uint8 or float frames, got dtype {frames.dtype}")


def read_video(path: str | Path) -> np.ndarray:
    """The frames of a video file as (T, 3, H, W) uint8."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            frames = np.load(path, allow_pickle=False)
        elif suffix == ".gif":
            with Image.open(path) as img:
                frames = np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(img)])
        else:
            try:
                import imageio.v3 as iio
            except ImportError:
                raise VideoError(f"{path}: reading {suffix or 'this'} files needs imageio: pip install 'imageio[ffmpeg]' "
                                 "(or convert the clip to .npy or .gif)") from None
            frames = np.asarray(iio.imread(path))
    except VideoError:
        raise
    except Exception as err:  # a corrupt or truncated file: say which and why, no traceback
        raise VideoError(f"{path}: cannot read it as a video ({type(err).__name__}: {err})") from None
    return _to_uint8_tchw(frames, str(path))


VIDEO_SUFFIXES = (".npy", ".gif", ".mp4", ".avi", ".mov", ".webm", ".mkv")


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """(T, 3, H, W) uint8 -> (T, 3, size, size) uint8 (bilinear, per channel); unchanged if already that size."""
    if frames.shape[2:] == (size, size):
        return frames
    out = np.empty((len(frames), 3, size, size), np.uint8)
    for t, frame in enumerate(frames):
        for c in range(3):
            out[t, c] = np.asarray(Image.fromarray(frame[c]).resize((size, size), Image.BILINEAR))
    return out


def read_clip_folder(folder: str | Path, size: int, min_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Every video in a folder (.npy, .gif, .mp4, ...; any length), resized to size x size, padded
    into one array: clips (N, T_max, 3, size, size) uint8 and their lengths (N,). A clip shorter
    than `min_frames` is left out (it holds no training window); none left is a VideoError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VideoError(f"{folder}: no such folder of clips")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and not p.name.endswith(".surprise.png"))
    clips = [resize_frames(read_video(p), size) for p in paths]
    kept = [c for c in clips if len(c) >= min_frames]
    if not kept:
        raise VideoError(f"{folder}: no clip of at least {min_frames} frames among {len(paths)} video files "
                         f"({', '.join(VIDEO_SUFFIXES)})")
    lengths = np.array([len(c) for c in kept], np.int64)
    out = np.zeros((len(kept), int(lengths.max()), 3, size, size), np.uint8)
    for i, clip in enumerate(kept):
        out[i, :len(clip)] = clip
    return out, lengths


def write_gif(frames: np.ndarray, path: str | Path, fps: int = 10, scale: int = 4) -> Path:
    """(T, 3, H, W) uint8 frames -> an animated GIF, enlarged `scale` times."""
    images = [Image.fromarray(f.transpose(1, 2, 0)).resize((f.shape[2] * scale, f.shape[1] * scale), Image.NEAREST) for f in frames]
    path = Path(path)
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path
