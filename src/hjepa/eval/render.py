"""Draw recorded episodes as an animated GIF: walls, agent, goal and the imagined plan."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SCALE = 4


def to_rgb(obs: np.ndarray) -> np.ndarray:
    """(C, H, W) float observation in [0, 1] -> (H, W, 3) uint8: 2 channels as agent (red) over
    walls (grey), 3 as RGB, a stack of RGB frames as its newest, anything else as the grey mean."""
    if obs.shape[0] > 3 and obs.shape[0] % 3 == 0:
        obs = obs[-3:]
    if obs.shape[0] == 2:
        rgb = obs[1][..., None] * np.array([90, 90, 110], np.float32) + obs[0][..., None] * np.array([255, 60, 40], np.float32)
    elif obs.shape[0] == 3:
        rgb = np.moveaxis(obs, 0, -1) * 255.0
    else:
        rgb = obs.mean(0)[..., None].repeat(3, -1) * 255.0
    return np.clip(rgb, 0, 255).astype(np.uint8)


def draw_frame(obs: np.ndarray, goal_obs: np.ndarray, pos, goal_pos, imagined: np.ndarray | None,
               subgoals: np.ndarray | None = None, outline: np.ndarray | None = None, path=None,
               caption: str = "") -> Image.Image:
    """One frame: the observation, with the goal (a circle, when positions are known; the
    outline of the goal pose, when the world draws one), the path so far (magenta), the imagined
    plan and the high levels' subgoals (orange diamonds) drawn on it, and the goal image beside it."""
    h, w = obs.shape[1:]
    img = Image.fromarray(to_rgb(obs)).resize((w * SCALE, h * SCALE), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    to_px = lambda p: (float(p[0]) * SCALE + SCALE / 2, float(p[1]) * SCALE + SCALE / 2)
    if outline is not None:
        draw.polygon([to_px(p) for p in outline], outline=(60, 200, 90), width=2)
    if path is not None and len(path) > 1:
        draw.line([to_px(p) for p in path], fill=(220, 60, 200), width=1)
    if goal_pos is not None:
        gx, gy = to_px(goal_pos)
        r = 4.5 * SCALE
        draw.ellipse([gx - r, gy - r, gx + r, gy + r], outline=(60, 220, 90), width=2)
    if imagined is not None and len(imagined) and pos is not None:
        points = [to_px(pos)] + [to_px(p) for p in imagined]
        draw.line(points, fill=(80, 160, 255), width=1)
        for x, y in points[1:]:
            draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(80, 160, 255))
    for p in subgoals if subgoals is not None else ():
        if np.isfinite(p).all():
            x, y = to_px(p)
            r = 2.5 * SCALE
            draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], outline=(255, 150, 40), width=2)
    goal = Image.fromarray(to_rgb(goal_obs)).resize((w * SCALE // 2, h * SCALE // 2), Image.NEAREST)
    canvas = Image.new("RGB", (img.width + goal.width + 4, img.height), (30, 30, 30))
    canvas.paste(img, (0, 0))
    canvas.paste(goal, (img.width + 4, 14))
    draw = ImageDraw.Draw(canvas)
    draw.text((img.width + 6, 1), "goal", fill=(255, 255, 255))
    if caption:
        draw.text((4, 2), caption, fill=(255, 255, 255))
    return canvas


def save_gif(records, path: str | Path, fps: int = 12) -> Path:
    """One GIF with every recorded episode in a row, each ending on a held last frame."""
    frames = []
    for i, rec in enumerate(records):
        status = "success" if rec.success else "failure"
        trail = []
        for t, frame in enumerate(rec.frames):
            if frame[2] is not None:
                trail.append(frame[2])
            frames.append(draw_frame(*frame, path=trail,
                                     caption=f"episode {i}  step {t}  {status if t == len(rec.frames) - 1 else ''}"))
        frames += [frames[-1]] * fps  # hold the ending for a second
    if not frames:
        raise ValueError("no recorded frames to draw")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    return path


def plot_curve(values: np.ndarray, path: str | Path, threshold: float | None = None, title: str = "",
               size: tuple[int, int] = (640, 320), shaded: list[int] = (), shaded_label: str = "") -> Path:
    """A line plot of one value per frame (NaN: no value), the threshold dashed, frames above it
    marked, and the frames in `shaded` (e.g. a ball behind the occluder) on a grey band."""
    w, h = size
    left, right, top, bottom = 56, 16, 28, 36
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    finite = values[np.isfinite(values)]
    top_value = max(float(finite.max()) if len(finite) else 1.0, threshold or 0.0) * 1.1 or 1.0
    x_of = lambda t: left + (w - left - right) * t / max(len(values) - 1, 1)
    y_of = lambda v: h - bottom - (h - top - bottom) * v / top_value
    half = (w - left - right) / max(len(values) - 1, 1) / 2
    for t in shaded:  # behind the curve: a band centred on each shaded frame
        draw.rectangle([max(left, x_of(t) - half), top + 1, min(w - right, x_of(t) + half), h - bottom - 1], fill=(225, 225, 225))
    if len(shaded) and shaded_label:
        draw.rectangle([w - right - 150, 8, w - right - 138, 20], fill=(225, 225, 225), outline=(0, 0, 0))
        draw.text((w - right - 132, 8), shaded_label, fill=(0, 0, 0))
    draw.rectangle([left, top, w - right, h - bottom], outline=(0, 0, 0))
    for k in range(5):  # value ticks
        v = top_value * k / 4
        draw.text((4, y_of(v) - 6), f"{v:.3g}", fill=(0, 0, 0))
    for t in range(0, len(values), max(1, len(values) // 8)):  # frame ticks
        draw.text((x_of(t) - 4, h - bottom + 6), str(t), fill=(0, 0, 0))
    draw.text((w // 2 - 20, h - 16), "frame", fill=(0, 0, 0))
    if threshold is not None:
        y = y_of(threshold)
        for x in range(left, w - right, 8):
            draw.line([x, y, x + 4, y], fill=(200, 60, 60))
    points = [(x_of(t), y_of(v)) for t, v in enumerate(values) if np.isfinite(v)]
    if len(points) > 1:
        draw.line(points, fill=(40, 90, 200), width=2)
    for t, v in enumerate(values):
        if np.isfinite(v) and threshold is not None and v > threshold:
            x, y = x_of(t), y_of(v)
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=(200, 60, 60))
    draw.text((left, 8), title, fill=(0, 0, 0))
    path = Path(path)
    img.save(path)
    return path


_SERIES_COLOURS = ((40, 90, 200), (220, 110, 30), (40, 160, 80), (150, 60, 170))


def plot_series(series: dict[str, tuple[list[float], list[float]]], path: str | Path, xlabel: str, ylabel: str,
                title: str = "", log_x: bool = False, size: tuple[int, int] = (640, 400)) -> Path:
    """Lines with markers, one per named series of (xs, ys), a legend, axes from 0 (y) and the data's range (x)."""
    w, h = size
    left, right, top, bottom = 64, 16, 40, 44
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    fx = (lambda x: float(np.log10(x))) if log_x else float
    xs = [fx(x) for xs_, _ in series.values() for x in xs_]
    ys = [y for _, ys_ in series.values() for y in ys_]
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x_hi = x_hi if x_hi > x_lo else x_lo + 1
    top_value = (max(ys) if ys else 1.0) * 1.1 or 1.0
    x_of = lambda x: left + (w - left - right) * (fx(x) - x_lo) / (x_hi - x_lo)  # noqa: E731
    y_of = lambda v: h - bottom - (h - top - bottom) * v / top_value  # noqa: E731
    draw.rectangle([left, top, w - right, h - bottom], outline=(0, 0, 0))
    for k in range(5):
        v = top_value * k / 4
        draw.text((4, y_of(v) - 6), f"{v:.3g}", fill=(0, 0, 0))
    for k in range(5):
        x = x_lo + (x_hi - x_lo) * k / 4
        label = f"{10 ** x:.3g}" if log_x else f"{x:.3g}"
        draw.text((left + (w - left - right) * k / 4 - (12 if k < 4 else 6 * len(label)), h - bottom + 6), label, fill=(0, 0, 0))
    draw.text((w // 2 - 4 * len(xlabel) // 2, h - 18), xlabel, fill=(0, 0, 0))
    draw.text((4, top - 16), ylabel, fill=(0, 0, 0))
    for i, (name, (sx, sy)) in enumerate(series.items()):
        colour = _SERIES_COLOURS[i % len(_SERIES_COLOURS)]
        points = [(x_of(x), y_of(y)) for x, y in zip(sx, sy)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
        draw.text((w - right - 120, top + 8 + 14 * i), f"-- {name}", fill=colour)
    draw.text((left, 8), title, fill=(0, 0, 0))
    path = Path(path)
    img.save(path)
    return path


_RAMP = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], np.float32)  # dark = near


def colorize(values: np.ndarray) -> np.ndarray:
    """(H, W) values -> (H, W, 3) uint8 on a dark-to-yellow ramp over their 2nd-98th percentile; NaN grey."""
    finite = values[np.isfinite(values)]
    lo, hi = np.percentile(finite, [2, 98]) if len(finite) else (0.0, 1.0)
    t = np.clip((np.nan_to_num(values, nan=lo) - lo) / max(hi - lo, 1e-9), 0, 1) * (len(_RAMP) - 1)
    i = np.minimum(t.astype(int), len(_RAMP) - 2)
    rgb = _RAMP[i] + (t - i)[..., None] * (_RAMP[i + 1] - _RAMP[i])
    rgb[~np.isfinite(values)] = 150
    return rgb.astype(np.uint8)


def save_heatmaps(panels: list[tuple[str, np.ndarray]], path: str | Path, marker: tuple[float, float] | None = None,
                  scale: int = 5) -> Path:
    """Side-by-side heat maps of (title, (H, W) array) panels, each on its own colour range, with
    an optional marker at grid cell (col, row)."""
    images = []
    for title, values in panels:
        img = Image.fromarray(colorize(values)).resize((values.shape[1] * scale, values.shape[0] * scale), Image.NEAREST)
        canvas = Image.new("RGB", (img.width, img.height + 18), (255, 255, 255))
        canvas.paste(img, (0, 18))
        draw = ImageDraw.Draw(canvas)
        draw.text((4, 3), title, fill=(0, 0, 0))
        if marker is not None:
            x, y = (marker[0] + 0.5) * scale, (marker[1] + 0.5) * scale + 18
            draw.ellipse([x - 5, y - 5, x + 5, y + 5], outline=(255, 40, 40), width=2)
        images.append(canvas)
    out = Image.new("RGB", (sum(i.width for i in images) + 8 * (len(images) - 1), images[0].height), (255, 255, 255))
    x = 0
    for img in images:
        out.paste(img, (x, 0))
        x += img.width + 8
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path)
    return path
