"""Synthetic variations of real portraits for the test-face set: pose, light, optics, scale, drawn props.

Pure functions of an RGB uint8 image (and, where they need it, its 68 iBUG landmarks); every random
choice comes from a seeded generator, so a case is the same picture on every machine.
"""
from __future__ import annotations

import cv2
import numpy as np

# A head turns about an axis behind the face: the cylinder's radius in eye-corner distances
TURN_RADIUS_EYES = 1.8
TURN_FADE_RADII = 1.6  # the displacement fades to nothing this many radii from the axis (hair, shoulders)
BEARD_LIP_RIM_EYES = 0.1  # bare skin kept round the lips, in eye-corner distances
NOSE_DEPTH_EYES = 0.5  # how far the nose stands out of the cylinder, in eye-corner distances (its parallax)
NOSE_SPREAD_EYES = 0.35  # the nose's bump: Gaussian sigma in eye-corner distances, centred on its tip
SKIN_SAMPLE_RADIUS = 0.18  # cheek patches that give a face's own skin colour, in eye-corner distances
SKIN_MATCH_SIGMA = 12.0  # LAB distance from the face's skin colour at which a pixel counts as half skin
# Deep brown skin's reflectance relative to light skin's, per linear R, G, B (melanin absorbs short
# wavelengths most): roughly 0.15 vs 0.45 at 600 nm, 0.08 vs 0.35 at 450 nm
DARK_SKIN_REFLECTANCE = (0.38, 0.22, 0.12)


def eye_distance(points: np.ndarray) -> float:
    """Outer-eye-corner distance in pixels: the face's own scale."""
    return float(np.linalg.norm(points[45] - points[36]))


def face_centre(points: np.ndarray) -> np.ndarray:
    """Mid-point between the eyes' centroid and the mouth's: where a head turn pivots in the picture."""
    return (points[36:48].mean(axis=0) + points[48:68].mean(axis=0)) / 2


def _cylinder_offsets(coords: np.ndarray, centre: float, radius: float, angle: float) -> np.ndarray:
    """Source-minus-target offsets along one axis for a surface on a cylinder turned by `angle` (radians)."""
    u = np.clip((coords - centre) / radius, -0.999, 0.999)
    phi = np.clip(np.arcsin(u) - angle, -np.pi / 2, np.pi / 2)
    # minus the centre's own shift: the face pivots in place instead of sliding off as a whole
    offset = (np.sin(phi) - u + np.sin(angle)) * radius
    fade = np.clip(1.0 - np.abs(coords - centre) / (radius * TURN_FADE_RADII), 0.0, 1.0) ** 2
    return offset * fade


def turn(image: np.ndarray, points: np.ndarray, degrees: float, axis: str = "yaw") -> np.ndarray:
    """Turn the head about its own vertical (yaw: + looks to image right) or horizontal (pitch: + down) axis."""
    h, w = image.shape[:2]
    centre = face_centre(points)
    e = eye_distance(points)
    radius = TURN_RADIUS_EYES * e
    angle = np.radians(degrees)
    # work in the face's frame (eye line horizontal), so a tilted head turns about its own axes
    tilt = np.arctan2(points[45, 1] - points[36, 1], points[45, 0] - points[36, 0])
    cos_t, sin_t = np.cos(tilt), np.sin(tilt)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32) - centre[0], np.arange(h, dtype=np.float32) - centre[1])
    u, v = xs * cos_t + ys * sin_t, -xs * sin_t + ys * cos_t
    nu, nv = ((points[30] - centre) @ np.array([[cos_t, -sin_t], [sin_t, cos_t]]))
    bump = np.exp(-((u - nu) ** 2 + (v - nv) ** 2) / (2 * (NOSE_SPREAD_EYES * e) ** 2))
    parallax = NOSE_DEPTH_EYES * e * np.sin(angle) * bump  # the nose moves further than the cheeks
    if axis == "yaw":
        du = _cylinder_offsets(u, 0.0, radius, angle) - parallax
        # the cylinder's near side is also nearer the camera: a little taller
        dv = v * (-0.04 * np.sin(angle)) * np.clip(u / radius, -1, 1)
    else:
        dv = _cylinder_offsets(v, 0.0, radius, angle) - parallax
        du = u * (-0.05 * np.sin(angle)) * np.clip(-v / radius, -1, 1)
    map_x = xs + centre[0] + du * cos_t - dv * sin_t
    map_y = ys + centre[1] + du * sin_t + dv * cos_t
    return cv2.remap(image, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT)


def rotate(image: np.ndarray, points: np.ndarray, degrees: float) -> np.ndarray:
    """Tilt the whole photo about the face centre (a head tilted in the picture plane)."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(tuple(float(v) for v in face_centre(points)), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def to_linear(image: np.ndarray) -> np.ndarray:
    """sRGB uint8 to linear light in [0, 1]."""
    c = image.astype(np.float32) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] back to sRGB uint8."""
    c = np.clip(linear, 0.0, 1.0)
    c = np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)
    return np.clip(np.round(c * 255.0), 0, 255).astype(np.uint8)


def colour_cast(image: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """A wrong white balance: per-channel gains in linear light (tungsten, fluorescent ...)."""
    return to_srgb(to_linear(image) * np.asarray(gains, dtype=np.float32))


def low_light(image: np.ndarray, exposure: float = 0.16, read_noise: float = 0.004, seed: int = 7) -> np.ndarray:
    """An under-exposed phone shot: light scaled down, shot noise and read noise, colour noise included."""
    rng = np.random.default_rng(seed)
    linear = to_linear(image) * exposure
    photons = 4000.0  # full-well-ish count: shot noise is sqrt of the signal
    noisy = rng.poisson(linear * photons).astype(np.float32) / photons
    noisy += rng.normal(0.0, read_noise, size=noisy.shape).astype(np.float32)
    return to_srgb(noisy)


def defocus(image: np.ndarray, sigma: float) -> np.ndarray:
    """An out-of-focus or motion-soft photo."""
    return cv2.GaussianBlur(image, (0, 0), sigma)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """A photo sent through a messenger: JPEG blocks and ringing."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def scale_to_face(image: np.ndarray, face_width: float, target: float) -> np.ndarray:
    """Resize the photo so its detected face box is `target` pixels wide (even sides)."""
    s = target / face_width
    h, w = image.shape[:2]
    size = (max(2, round(w * s / 2) * 2), max(2, round(h * s / 2) * 2))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def crop_to(image: np.ndarray, centre: np.ndarray, width: int, height: int) -> np.ndarray:
    """A width x height crop around `centre`, kept inside the image."""
    h, w = image.shape[:2]
    left = int(np.clip(round(centre[0] - width / 2), 0, max(0, w - width)))
    top = int(np.clip(round(centre[1] - height / 2), 0, max(0, h - height)))
    return np.ascontiguousarray(image[top:top + height, left:left + width])


def _polygon_mask(shape: tuple[int, int], polygons: list[np.ndarray], feather: float) -> np.ndarray:
    """A float mask in [0, 1] of filled polygons, its edge blurred by `feather` pixels."""
    mask = np.zeros(shape, np.float32)
    for poly in polygons:
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1.0, cv2.LINE_AA)
    if feather > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), feather)
    return mask


def beard_polygon(points: np.ndarray) -> np.ndarray:
    """The beard's outline: the lower jaw, up the cheeks to the nose wings, over the upper lip."""
    e = eye_distance(points)
    jaw = points[2:15].copy()
    jaw[:, 1] += 0.06 * e  # a beard hangs a little below the jaw line
    cheek_r = points[31] + np.array([-0.25 * e, 0.05 * e])
    cheek_l = points[35] + np.array([0.25 * e, 0.05 * e])
    top = points[33] + np.array([0.0, 0.12 * e])
    return np.vstack([jaw, cheek_l, top, cheek_r])


def draw_beard(image: np.ndarray, points: np.ndarray, colour=(78, 62, 52), seed: int = 3) -> np.ndarray:
    """A short salt-and-pepper beard and moustache drawn as thousands of hair strokes, the lips left bare."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    e = eye_distance(points)
    region = _polygon_mask((h, w), [beard_polygon(points)], 0)
    # the lips and a rim of skin round them stay bare, as on a trimmed beard (and dlib still finds the lips)
    rim = max(3, int(BEARD_LIP_RIM_EYES * e)) | 1
    lips = cv2.dilate(_polygon_mask((h, w), [points[48:60]], 0), np.ones((rim, rim), np.uint8))
    region = np.clip(region - lips, 0, 1)
    edge = np.clip(cv2.GaussianBlur(region, (0, 0), 0.06 * e) * 1.5 - 0.25, 0, 1)
    # under the strokes the skin is shadowed by the hair: darken it toward the beard's colour
    base = np.asarray(colour, np.float32) * 0.6
    out = image.astype(np.float32)
    under = edge[..., None] * 0.4
    out = out * (1 - under) + base * under
    ys, xs = np.nonzero(region > 0.5)
    canvas = np.zeros_like(out)
    cover = np.zeros((h, w), np.float32)
    length = max(3.0, 0.06 * e)
    width = max(1, round(e / 110))
    for i in rng.choice(len(xs), size=min(len(xs), int(len(xs) * 0.2)), replace=False):
        angle = np.pi / 2 + rng.normal(0.0, 0.45)  # hair grows down, roughly
        tip = (int(xs[i] + np.cos(angle) * length * rng.uniform(0.5, 1)),
               int(ys[i] + np.sin(angle) * length * rng.uniform(0.5, 1)))
        grey = rng.random() < 0.15  # salt and pepper
        tone = np.array([178, 172, 166]) if grey else np.asarray(colour) * rng.uniform(0.55, 1.25)
        cv2.line(canvas, (int(xs[i]), int(ys[i])), tip, tone.tolist(), width, cv2.LINE_AA)
        cv2.line(cover, (int(xs[i]), int(ys[i])), tip, 1.0, width, cv2.LINE_AA)
    # the hair takes the face's light: its shade follows the blurred luminance of the skin below
    shade = np.clip(cv2.GaussianBlur(image.astype(np.float32).mean(axis=2), (0, 0), 0.25 * e) / 150.0, 0.45, 1.3)
    alpha = (cover * edge)[..., None]
    out = out * (1 - alpha) + canvas * shade[..., None] * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def draw_glasses(image: np.ndarray, points: np.ndarray, colour=(24, 22, 26)) -> np.ndarray:
    """Dark rectangular frames round both eyes with a bridge, temple arms and a faint lens reflection."""
    out = image.copy()
    e = eye_distance(points)
    thick = max(2, round(e / 28))
    overlay = out.copy()
    centres = []
    for eye, brow in ((points[36:42], points[17:22]), (points[42:48], points[22:27])):
        c = eye.mean(axis=0)
        centres.append(c)
        half_w = 0.27 * e
        top = min(brow[:, 1].max() + 0.02 * e, c[1] - 0.14 * e)
        bottom = c[1] + 0.2 * e
        p0 = (int(c[0] - half_w), int(top))
        p1 = (int(c[0] + half_w), int(bottom))
        lens = np.zeros(image.shape[:2], np.uint8)
        cv2.rectangle(lens, p0, p1, 255, -1)
        # a lens reflects a little sky: a faint light wash
        overlay[lens > 0] = (overlay[lens > 0] * 0.9 + np.array([235, 240, 250]) * 0.1).astype(np.uint8)
        cv2.rectangle(overlay, p0, p1, colour, thick, cv2.LINE_AA)
    right, left = centres
    bridge_y = int(min(right[1], left[1]) - 0.06 * e)
    cv2.line(overlay, (int(right[0] + 0.27 * e), bridge_y), (int(left[0] - 0.27 * e), bridge_y), colour, thick,
             cv2.LINE_AA)
    for corner, jaw_point, sign in ((right, points[0], -1), (left, points[16], 1)):
        start = (int(corner[0] + sign * 0.27 * e), int(corner[1] - 0.08 * e))
        end = (int(jaw_point[0]), int(jaw_point[1] - 0.02 * e))
        cv2.line(overlay, start, end, colour, thick, cv2.LINE_AA)
    return cv2.addWeighted(overlay, 0.92, out, 0.08, 0)


def skin_mask(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Soft mask of skin: pixels near the cheeks' own LAB colour, eyes and the mouth's inside left out."""
    h, w = image.shape[:2]
    e = eye_distance(points)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    samples = []
    for a, b in ((1, 31), (15, 35), (29, 29)):  # both cheeks and the nose bridge
        c = (points[a] + points[b]) / 2
        r = max(2, int(SKIN_SAMPLE_RADIUS * e))
        patch = lab[max(0, int(c[1]) - r):int(c[1]) + r, max(0, int(c[0]) - r):int(c[0]) + r].reshape(-1, 3)
        samples.append(patch)
    skin = np.median(np.vstack(samples), axis=0)
    # L varies with shading; match mostly on chroma so shadowed skin still counts
    dist = np.sqrt(((lab[..., 1:] - skin[1:]) ** 2).sum(axis=2) + (0.5 * (lab[..., 0] - skin[0])) ** 2)
    colour_match = np.exp(-0.5 * (dist / SKIN_MATCH_SIGMA) ** 2)
    head = _polygon_mask((h, w), [np.vstack([points[0:17], points[26:16:-1] - [0, 0.45 * e]])], 0)
    near_head = cv2.GaussianBlur(cv2.dilate(head, np.ones((int(e), int(e)), np.uint8)), (0, 0), 0.3 * e)
    keep_out = _polygon_mask((h, w), [points[36:42], points[42:48], points[60:68]], 0.03 * e)
    mask = colour_match * np.clip(near_head * 1.5, 0, 1) * (1 - np.clip(keep_out * 2, 0, 1))
    return cv2.GaussianBlur(mask, (0, 0), 0.02 * e + 0.5), skin


def darken_skin(image: np.ndarray, points: np.ndarray, reflectance=DARK_SKIN_REFLECTANCE) -> np.ndarray:
    """A deeper skin tone under the same light: the skin's reflectance scaled per channel in linear light.

    A pixel of skin is light times reflectance, so scaling the reflectance keeps the photo's own shading,
    pores and highlights; melanin absorbs blue and green more than red, hence a warmer, deeper colour.
    """
    mask, _ = skin_mask(image, points)
    linear = to_linear(image)
    darker = linear * np.asarray(reflectance, np.float32)
    return to_srgb(linear * (1 - mask[..., None]) + darker * mask[..., None])
