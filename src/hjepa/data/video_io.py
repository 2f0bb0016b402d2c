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


def write_gif(frames: np.ndarray, path: str | Path, fps: int = 10, scale: int = 4) -> Path:
    """(T, 3, H, W) uint8 frames -> an animated GIF, enlarged `scale` times."""
    images = [Image.fromarray(f.transpose(1, 2, 0)).resize((f.shape[2] * scale, f.shape[1] * scale), Image.NEAREST) for f in frames]
    path = Path(path)
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path
