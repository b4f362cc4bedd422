"""The OpenAPI schema tells the truth: every error an operation can answer, and the constraints validation applies.

drf-spectacular describes serializers; what validation.validate_input checks beyond them (text that
is not blank after trimming, voices that belong to the chosen language, engines available on this
installation, a recording in place of text) is written here, in a postprocessing hook, so that a
client generated from the schema (or schemathesis) sends what the server accepts.
"""
from __future__ import annotations

import copy

from django.conf import settings

from generation.models import CALLBACK_URL_MAX_LENGTH, IDEMPOTENCY_KEY_MAX_LENGTH, LANGUAGES
from generation.pipeline.types import RESOLUTIONS
from generation.shared import voices
from generation.web.validation import available_engines
from avatars.models import Motion

NO_NUL = r"^[^\x00]*$"  # DRF refuses NUL characters in any text field
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"  # ... and text that is empty once trimmed
SPEAKABLE = r"^[^\x00]*\w[^\x00]*$"  # text to speak has a letter or digit (Unicode \w, as the server checks)
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]+$"
BACKGROUND_REQUEST_PATTERN = r"^(|blur|#[0-9a-fA-F]{6})$"

ERROR = {
    "type": "object",
    "description": "An error: `detail` says what is wrong, in the caller's language.",
    "properties": {"detail": {"type": "string"},
                   "error_code": {"type": "string", "description": "stable, for programs (some errors)"}},
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Invalid input: each field's messages under its name; `detail` for what concerns no one field.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}

DESCRIPTIONS = {
    "400": "Invalid input (see the fields named)",
    "401": "No credentials, or a wrong or expired token",
    "403": "Not allowed (a session without its CSRF token, or a shared avatar)",
    "404": "Not found (another user's object is never shown)",
    "409": "In conflict with the current state",
    "413": "Request body too large",
    "415": "Unsupported Content-Type",
    "422": "Understood but refused",
    "429": "Too many requests; see Retry-After",
    "504": "Timed out waiting for the worker",
}

# What each operation may answer beyond the generic errors (auth, body, path ids), and why.
EXTRA = {
    ("/api/v1/voices/", "get"): {"400": "Unknown language"},
    ("/api/v1/generations/{id}/video", "get"): {"400": "`download` is not a boolean"},
    ("/api/v1/generations/{id}/captions.vtt", "get"): {"400": "`download` is not a boolean"},
    ("/api/v1/auth/token/", "post"): {"401": "Wrong username or password",
                                      "429": "Too many failed logins or token requests"},
    ("/api/v1/avatars/", "post"): {"409": "You have the most avatars allowed already"},
    ("/api/v1/avatars/{id}/", "delete"): {"403": "A shared avatar", "409": "Videos using it are still being made"},
    ("/api/v1/generations/{id}/cancel/", "post"): {"409": "Already finished"},
    ("/api/v1/generations/{id}/share/", "post"): {"409": "Not finished, or its video was removed"},
    ("/api/v1/generations/", "get"): {"400": "An unknown status, language or avatar filter", "404": "No such page"},
    ("/api/v1/avatars/{id}/", "patch"): {"403": "A shared avatar"},
    ("/api/v1/generations/", "post"): {
        "404": "The avatar named does not exist or is not active, or the background picture is not yours",
        "409": "The avatar is still being prepared or failed; or none is ready",
        "422": "The Idempotency-Key was used with another body within 24 h",
        "429": "Too many videos requested, or too many in progress"},
    ("/api/generate", "post"): {
        "404": "The avatar named does not exist or is not active, or the background picture is not yours",
        "409": "The avatar is still being prepared or failed; or none is ready",
        "422": "The video could not be made (error, error_code) or the Idempotency-Key was used with another body",
        "429": "Too many videos requested, in progress, or waited for",
        "504": "Not ready in time; it is still being made (id, status_url)"},
}
GENERATION_CREATE_OPERATIONS = (("/api/v1/generations/", "post"), ("/api/generate", "post"))


def error_response(code: str, description: str) -> dict:
    ref = "ValidationError" if code == "400" else "Error"
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def add_errors(path: str, method: str, operation: dict) -> None:
    """Document every error status the operation can answer, each with its JSON body."""
    codes = {}
    if operation.get("security"):
        codes.update({"401": DESCRIPTIONS["401"], "403": DESCRIPTIONS["403"]})
    if "requestBody" in operation:
        codes.update({"400": DESCRIPTIONS["400"], "413": DESCRIPTIONS["413"], "415": DESCRIPTIONS["415"]})
    if "{id}" in path:
        codes["404"] = DESCRIPTIONS["404"]
    codes.update(EXTRA.get((path, method), {}))
    responses = operation["responses"]
    for code, description in codes.items():
        if code not in responses or "content" not in responses[code]:
            responses[code] = error_response(code, description)


def voice_ids(language: str) -> list[str]:
    return voices.voice_ids(language)


def engines() -> list[str]:
    return available_engines()


def generation_variant(base: dict, language: str, upload: bool, nullable_avatar: bool) -> dict:
    """The create body for one language: its voices only; text required unless a recording is uploaded."""
    schema = copy.deepcopy(base)
    props = schema["properties"]
    props["language"] = {"type": "string", "enum": [language]}
    props["voice"] = {"type": "string", "enum": [""] + voice_ids(language), "default": "",
                      "description": "empty: the language's default voice (GET /api/v1/voices/)"}
    props["engine"] = {"type": "string", "enum": [""] + engines(), "default": "",
                       "description": "empty: the installation's default lip-sync engine"}
    props["motion"] = {"type": "string", "enum": [""] + list(Motion.values), "default": "",
                       "description": "a photo avatar's head motion; empty: the avatar's own setting"}
    props["avatar"] = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2 ** 63 - 1,
                       "description": "an avatar id from GET /api/v1/avatars/; absent: the default avatar"}
    props["resolution"] = {"type": "integer", "enum": list(RESOLUTIONS),
                           "description": "the short side of a framed video; absent: the avatar's own setting"}
    props["background_image"] = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2 ** 63 - 1,
                                 "description": "one of your /api/v1/backgrounds/ pictures (then the background)"}
    # "image" names the picture in answers; a request names the picture itself (background_image)
    props["background"] = {"type": "string", "pattern": BACKGROUND_REQUEST_PATTERN, "default": "",
                           "description": "blur, a colour #rrggbb, or empty: the avatar's own setting"}
    if nullable_avatar:
        for name in ("avatar", "resolution", "background_image"):
            props[name]["nullable"] = True
    props["callback_url"] = {"type": "string", "format": "uri", "maxLength": CALLBACK_URL_MAX_LENGTH,
                             "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://",
                             "description": "http(s) URL to a public address, POSTed to (signed) when the request "
                                            "finishes: done, failed or cancelled"}
    text = {"type": "string", "maxLength": settings.MAX_TEXT_LENGTH,
            "description": f"what the avatar says (trimmed; at most {settings.MAX_TEXT_LENGTH} characters, and at "
                           f"most about {settings.MAX_SPEECH_SECONDS} s of speech: each digit is read as a word; at "
                           "least one letter or digit: \"!!! ???\" has nothing to say)"}
    if upload:
        props["text"] = {**text, "pattern": NO_NUL}
        props["audio"] = {"type": "string", "format": "binary",
                          "description": "your own recording (WAV, MP3, OGG, …), spoken instead of the text"}
        schema["required"] = ["language", "audio"]
    else:
        props["text"] = {**text, "minLength": 1, "pattern": SPEAKABLE}
        props.pop("audio", None)
        schema["required"] = ["language", "text"]
    return schema


def generation_bodies(result: dict) -> None:
    """JSON and forms carry text; multipart carries a recording; per language its own voices (oneOf on language)."""
    schemas = result["components"]["schemas"]
    base = schemas.pop("GenerationCreate", None) or schemas.pop("GenerationCreateRequest")
    bodies = {}
    for media, kind, upload, nullable in (("application/json", "Text", False, True),
                                          ("application/x-www-form-urlencoded", "Form", False, False),
                                          ("multipart/form-data", "Upload", True, False)):
        refs = {}
        for language in LANGUAGES:
            name = f"Generation{kind}{language.capitalize()}"
            schemas[name] = generation_variant(base, language, upload, nullable)
            refs[language] = f"#/components/schemas/{name}"
        bodies[media] = {"schema": {"oneOf": [{"$ref": ref} for ref in refs.values()],
                                    "discriminator": {"propertyName": "language", "mapping": refs}}}
    for path, method in GENERATION_CREATE_OPERATIONS:
        operation = result["paths"].get(path, {}).get(method)
        if operation is not None:
            operation["requestBody"] = {"content": copy.deepcopy(bodies), "required": True}


def text_constraints(schemas: dict) -> None:
    """Credentials and names may not be blank (nor carry NUL), as their serializers insist."""
    for name in ("TokenRequest", "TokenRequestRequest"):
        if name in schemas:
            schemas[name]["properties"]["username"].update(minLength=1, pattern=NOT_BLANK)
            schemas[name]["properties"]["password"].update(minLength=1, pattern=NO_NUL)
    for name in ("AvatarCreate", "AvatarCreateRequest"):
        if name in schemas:
            schemas[name]["properties"]["name"].update(minLength=1, pattern=NOT_BLANK)
    for name in ("PatchedAvatarRename", "PatchedAvatarRenameRequest"):  # a rename needs its one field
        if name in schemas:
            schemas[name]["properties"]["name"].update(minLength=1, pattern=NOT_BLANK)
            schemas[name]["required"] = ["name"]


def parameters(result: dict) -> None:
    """Typed, bounded query and header parameters."""
    for path, operations in result["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "page":
                    parameter["schema"] = {"type": "integer", "minimum": 1}
                elif parameter["name"] == "Idempotency-Key":
                    parameter["schema"] = {"type": "string", "minLength": 1,
                                           "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
                                           "pattern": IDEMPOTENCY_KEY_PATTERN}
                elif parameter["in"] == "path" and parameter["name"] == "id":
                    parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 2 ** 63 - 1}


# The first path segment after /api/v1/ names the resource an operation belongs to.
TAGS = {"avatars": "avatars", "voices": "voices", "generations": "generations", "me": "account",
        "auth": "tokens", "backgrounds": "backgrounds", "": "api"}
TAG_DESCRIPTIONS = {
    "generations": "Videos: queue one from text or a recording, follow it, download the MP4 and its captions",
    "avatars": "Photo and video avatars: the shared ones and your own",
    "voices": "The voices of each language",
    "account": "Who you are, your daily quota and your webhook signing secret",
    "tokens": "API tokens for programs",
    "backgrounds": "Your own pictures to put behind an avatar (background_image of a request)",
    "api": "The API root",
}


# Short names for people (Swagger's one line per operation); the description keeps the docstring.
SUMMARIES = {
    ("/api/generate", "post"): "Make a video and wait for the MP4",
    ("/api/v1/", "get"): "API root",
    ("/api/v1/auth/token/", "post"): "Get an API token",
    ("/api/v1/avatars/", "get"): "List avatars",
    ("/api/v1/avatars/", "post"): "Add a photo or video avatar",
    ("/api/v1/avatars/{id}/", "get"): "Get an avatar",
    ("/api/v1/avatars/{id}/", "delete"): "Delete your avatar",
    ("/api/v1/avatars/{id}/preview", "get"): "An avatar's preparation preview",
    ("/api/v1/avatars/{id}/source", "get"): "An avatar's uploaded file",
    ("/api/v1/generations/", "get"): "List your videos",
    ("/api/v1/generations/", "post"): "Queue a video",
    ("/api/v1/generations/{id}/", "get"): "Get a video request",
    ("/api/v1/generations/{id}/", "delete"): "Delete a video",
    ("/api/v1/generations/{id}/cancel/", "post"): "Cancel a video in progress",
    ("/api/v1/generations/{id}/captions.srt", "get"): "Captions as SubRip",
    ("/api/v1/generations/{id}/captions.vtt", "get"): "Captions as WebVTT",
    ("/api/v1/generations/{id}/recording", "get"): "The uploaded recording",
    ("/api/v1/generations/{id}/video", "get"): "Download the MP4",
    ("/api/v1/me/", "get"): "Your account",
    ("/api/v1/me/webhook-secret/", "post"): "Rotate the webhook secret",
    ("/api/v1/voices/", "get"): "List voices",
    ("/api/v1/voices/{voice_id}/sample", "get"): "Hear a voice (a short WAV sample)",
    ("/api/v1/generations/{id}/stream/index.m3u8", "get"): "Watch it while it is made (HLS playlist)",
    ("/api/v1/generations/{id}/stream/{name}", "get"): "One file of the stream",
    ("/api/v1/generations/{id}/share/", "post"): "Make a share link",
    ("/api/v1/generations/{id}/share/", "delete"): "Revoke the share link",
    ("/api/v1/backgrounds/", "get"): "List your background pictures",
    ("/api/v1/backgrounds/", "post"): "Upload a background picture",
    ("/api/v1/backgrounds/{id}/", "get"): "Get a background picture",
    ("/api/v1/backgrounds/{id}/", "delete"): "Delete a background picture",
    ("/api/v1/backgrounds/{id}/file", "get"): "A background picture's file",
}
# For operations whose view has no docstring of its own (the viewsets' list and retrieve).
LONG_DESCRIPTIONS = {
    ("/api/v1/generations/", "get"): "Your video requests, newest first, paginated (`?page=`): status, stage, "
                                     "timings and, once done, the video's URL and captions.",
    ("/api/v1/generations/{id}/", "get"): "One of your video requests: poll it until `status` is done, failed or "
                                          "cancelled; `video` then has the MP4's URL and captions.",
    ("/api/v1/avatars/", "get"): "The shared avatars that are ready, and your own photo and video avatars in any "
                                 "status (preparing, ready, failed).",
    ("/api/v1/avatars/{id}/", "get"): "One avatar you may use: a shared one, or your own photo or video avatar "
                                      "with its preparation status and notes.",
}


def tag_for(path: str) -> str:
    """The resource tag of an operation's path (POST /api/generate belongs with the generations)."""
    if path == "/api/generate":
        return "generations"
    segment = path.removeprefix("/api/v1/").split("/", 1)[0]
    return TAGS.get(segment, segment)


def summaries(path: str, method: str, operation: dict) -> None:
    """Every operation gets its resource tag and a summary (the first sentence of its description)."""
    operation["tags"] = [tag_for(path)]
    if (path, method) in LONG_DESCRIPTIONS:
        operation["description"] = LONG_DESCRIPTIONS[(path, method)]
    description = (operation.get("description") or "").strip()
    operation["summary"] = SUMMARIES.get((path, method)) or operation.get("summary") or \
        description.split("\n", 1)[0].split(". ", 1)[0].rstrip(".")
    if not description:
        operation["description"] = operation["summary"] + "."


def postprocess(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOKS entry: errors, request bodies, constraints."""
    result["components"]["schemas"].update(Error=ERROR, ValidationError=VALIDATION_ERROR)
    generation_bodies(result)
    text_constraints(result["components"]["schemas"])
    parameters(result)
    for path, operations in result["paths"].items():
        for method, operation in operations.items():
            add_errors(path, method, operation)
            summaries(path, method, operation)
    result["tags"] = [{"name": name, "description": text} for name, text in TAG_DESCRIPTIONS.items()]
    return result
