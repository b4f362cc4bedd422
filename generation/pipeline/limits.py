"""The video avatar's limits and the formats users are told about: defined here once, read everywhere.

Django-free (the pipeline, the settings' defaults, the messages, the help texts and the API schema
all read it). The limits that apply are settings.MAX_VIDEO_SECONDS and MAX_VIDEO_SIDE, whose
defaults these are; what users read names those settings' values, never a number of its own.
"""
MAX_CLIP_SECONDS = 60  # default of settings.MAX_VIDEO_SECONDS
MAX_SOURCE_SIDE = 1920  # default of settings.MAX_VIDEO_SIDE: pixels on the long side
# Every source frame is decoded, even those the 25 fps preparation drops: a header claiming 10 000
# fps (580 000 tiny frames in 13 MB) once held the worker 5 minutes. Phones film at up to 60.
MAX_SOURCE_FPS = 60
PHOTO_FORMAT_NAMES = ("JPEG", "PNG", "WebP", "BMP")  # as users know them (photo uploads: Pillow)
VIDEO_FORMAT_NAMES = ("MP4", "MOV", "WebM", "MKV")  # as users know them (video_check.VIDEO_FORMATS)
