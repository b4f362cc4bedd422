"""Named groups of the iBUG 300-W 68-point face landmarks: the order dlib and face-alignment return.

Indices are 0-based. "Right" and "left" in a name are the subject's (the right eye is on the image's
left); in comments they are the image's. Lines (jaw, brows, nose base) run image left to right,
closed contours (eyes, lips) clockwise on the image from their image-left corner. Groups are ranges,
so `landmarks[GROUP]` picks their rows of a (68, 2) array in that order.
"""
from __future__ import annotations

NUM_LANDMARKS = 68

JAW_LINE = range(0, 17)  # ear to ear round the chin, image left to right; 8 is the chin
# The jaw line without its two top points on each side: those sit beside the ears, where the
# mandible hinges and barely moves; 2..14 is the part a mouth opening carries down.
LOWER_JAW = range(2, 15)
CHIN = 8

RIGHT_BROW = range(17, 22)  # image left, outer end first
LEFT_BROW = range(22, 27)  # image right, inner end first

NOSE_BRIDGE = range(27, 31)  # top down
NOSE_TIP = 30  # the last bridge point: the tip of the nose
NOSE_BASE = range(31, 36)  # under the nose, image left to right; 33 is the middle (above the philtrum)
NOSE_BASE_RIGHT_TO_LEFT = NOSE_BASE[::-1]  # 35..31: closes a polygon that ran left to right along the jaw
NOSE_BASE_MIDDLE = 33

# Each eye: corner, two upper-lid points, other corner, two lower-lid points (clockwise)
RIGHT_EYE = range(36, 42)  # image left: 36 outer corner, 39 inner corner
LEFT_EYE = range(42, 48)  # image right: 42 inner corner, 45 outer corner

OUTER_LIPS = range(48, 60)  # 48 left corner, 49-53 upper lip, 54 right corner, 55-59 lower lip (right to left)
INNER_LIPS = range(60, 68)  # 60 left corner, 61-63 upper lip, 64 right corner, 65-67 lower lip (right to left)
LIPS = range(48, 68)  # outer then inner contour
MOUTH_CORNERS = (48, 54)  # outer contour, image left then right
INNER_MOUTH_CORNERS = (60, 64)
UPPER_INNER_LIP = range(61, 64)
LOWER_INNER_LIP = range(65, 68)
# Each upper inner-lip point and the lower one facing it across the mouth (61 above 67, 62 above 66 ...)
INNER_LIP_PAIRS = ((61, 67), (62, 66), (63, 65))
