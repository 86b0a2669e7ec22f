"""The pieces the API's route table is written with: JSON Schema helpers, the schemas
many operations share, and what a route and an operation are (see :mod:`.routes`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tornado.web

from livelens.services import support

JSON = dict[str, object]


def obj(required: list[str] | None = None, **props: JSON) -> JSON:
    schema: JSON = {"type": "object", "properties": props, "additionalProperties": True}
    if required:
        schema["required"] = required
    return schema


STR: JSON = {"type": "string"}
BOOL: JSON = {"type": "boolean"}
# Request fields, as base.field_str and field_bool read them: at most 1,024 characters;
# optional ones may also be null, which counts as absent.
FIELD: JSON = {"type": "string", "maxLength": 1024}
FIELD_OR_NULL: JSON = {"type": ["string", "null"], "maxLength": 1024}
BOOL_OR_NULL: JSON = {"type": ["boolean", "null"]}
ROLE: JSON = {"type": "string", "enum": ["agent", "admin"]}
# Passwords: 8 to 256 characters with letters and digits (identity.passwords); the
# letters-and-digits rule is Unicode-wide, beyond what a JSON Schema pattern can say.
PASSWORD: JSON = {"type": "string", "minLength": 8, "maxLength": 256,
                  "description": "At least one letter and one digit."}  # fmt: skip
# Six digits; spaces and dashes may stand between them (signalling.join.normalise_pin).
PIN: JSON = {"type": "string", "maxLength": 1024, "pattern": "^[ -]*(?:[0-9][ -]*){6}$"}
ABSENT: JSON = {"anyOf": [{"type": "null"}, {"const": ""}]}
INT: JSON = {"type": "integer"}
NUM: JSON = {"type": "number"}
ERROR = obj(["error", "message"], error=STR, message=STR)
NUM_OR_NULL: JSON = {"type": ["number", "null"]}
STR_OR_NULL: JSON = {"type": ["string", "null"]}
EMPTY = obj()
# A customer's name or a case reference as the agent types it (support.case_text): no
# control characters; what is left once the spaces around it are trimmed, at most 100
# characters, is kept (nothing left: none).
CASE_TEXT: JSON = {"type": ["string", "null"], "maxLength": 1024,
                   "pattern": support.CASE_TEXT_PATTERN,
                   "description": f"Trimmed; at most {support.MAX_CASE_TEXT} characters, no "
                                  "control characters. Empty or null: none."}  # fmt: skip
IMAGE: JSON = {"type": "string", "format": "binary"}
IMAGE_TYPES = ("image/jpeg", "image/png")
DAY: JSON = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
RECORD_ID: JSON = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
OUTCOME: JSON = {"type": "string", "enum": ["completed", "declined", "expired", "dropped"]}
INT_OR_NULL: JSON = {"type": ["integer", "null"]}


@dataclass(frozen=True)
class Query:
    """A query parameter: its name and schema."""

    name: str
    schema: JSON
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict[int, JSON]  # status -> response body schema (EMPTY for none)
    request: JSON | None = None
    auth: str = "user"  # "none", "user" (enrolment may be pending), "admin"
    errors: tuple[int, ...] = ()
    media: str = "application/json"  # of the success responses
    request_media: tuple[str, ...] = ("application/json",)
    description: str = ""  # the rules, beyond the summary
    request_required: bool = True  # False: no body at all means an empty object
    query: tuple[Query, ...] = ()  # the query parameters
    api_key: bool = False  # an API key (Authorization: Bearer) may call it instead of a user
    also_media: dict[str, JSON] = field(default_factory=dict)  # other success media types


@dataclass(frozen=True)
class Route:
    path: str  # OpenAPI form, e.g. /api/users/{user_id}
    handler: type[tornado.web.RequestHandler]
    operations: dict[str, Operation] = field(default_factory=dict)

    @property
    def tornado_pattern(self) -> str:
        # Path parameters are record ids: 32 hex digits.
        return re.sub(r"\{[a-z_]+\}", r"([0-9a-f]{32})", self.path)
