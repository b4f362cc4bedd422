"""The OpenAPI schema tells the truth: every error an operation can answer, and the constraints validation applies.

drf-spectacular describes serializers; what validation.validate_input checks beyond them (text that
is not blank after trimming, voices that belong to the chosen language, engines available on this
installation, a recording in place of text) is written here, in a postprocessing hook, so that a
client generated from the schema (or schemathesis) sends what the server accepts.
"""
from __future__ import annotations

import copy

from django.conf import settings

from generation.models import CALLBACK_URL_MAX_LENGTH, IDEMPOTENCY_KEY_MAX_LENGTH, LANGUAGES, RESOLUTIONS

NO_NUL = r"^[^\x00]*$"  # DRF refuses NUL characters in any text field
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"  # ... and text that is empty once trimmed
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
    from generation import voices

    return voices.voice_ids(language)


def engines() -> list[str]:
    from generation.validation import available_engines

    return available_engines()


def generation_variant(base: dict, language: str, upload: bool, nullable_avatar: bool) -> dict:
    """The create body for one language: its voices only; text required unless a recording is uploaded."""
    from avatars.models import Motion

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
                           f"most about {settings.MAX_SPEECH_SECONDS} s of speech: each digit is read as a word)"}
    if upload:
        props["text"] = {**text, "pattern": NO_NUL}
        props["audio"] = {"type": "string", "format": "binary",
                          "description": "your own recording (WAV, MP3, OGG, …), spoken instead of the text"}
        schema["required"] = ["language", "audio"]
    else:
        props["text"] = {**text, "minLength": 1, "pattern": NOT_BLANK}
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


def postprocess(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOKS entry: errors, request bodies, constraints."""
    result["components"]["schemas"].update(Error=ERROR, ValidationError=VALIDATION_ERROR)
    generation_bodies(result)
    text_constraints(result["components"]["schemas"])
    parameters(result)
    for path, operations in result["paths"].items():
        for method, operation in operations.items():
            add_errors(path, method, operation)
    return result
