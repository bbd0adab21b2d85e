"""Request bodies and their bounds. FastAPI answers a body that breaks them with 422 naming the field.

Integers are strict (``"5"``, ``5.0``, ``1.5`` and ``true`` are not amounts); strings are bounded
in length, must be storable text (no NUL, no lone surrogate) and, where they become keys, are
limited to a small alphabet. Unknown fields are refused (422 naming them) rather than ignored, so a
client that believes it set something the API does not know (say ``from_wallet``) is told so.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

USERNAME_PATTERN = r"^[a-z0-9_-]+$"
ROOM_PATTERN = r"^[A-Za-z0-9_-]+$"
KEY_PATTERN = r"^[A-Za-z0-9_.:-]+$"  # client message ids and idempotency keys (uuids fit)
MAX_AMOUNT = 100_000_000  # minor units
MAX_READBACK_IDS = 5000
MIN_PASSWORD_CHARS = 8
MIN_PASSWORD_DISTINCT = 5  # "aaaaaaaa", "abababab" and eight spaces are not passwords


def _storable(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold NUL: refuse it here, not in the database
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): neither storable nor hashable
        raise ValueError("must be valid Unicode text") from None
    return value


def _strong(value: str) -> str:
    """A new password: at least 8 characters (the length bound), not only whitespace, and at least
    5 different characters. Simple on purpose: it refuses what is no password at all (eight
    spaces, one key held down, "abababab") and leaves anything longer to the user."""
    if not value.strip():
        raise ValueError("must not be only whitespace")
    if len(set(value)) < MIN_PASSWORD_DISTINCT:
        raise ValueError(f"must have at least {MIN_PASSWORD_DISTINCT} different characters")
    return value


Text = Annotated[str, AfterValidator(_storable)]
Username = Annotated[str, Field(min_length=3, max_length=40, pattern=USERNAME_PATTERN)]
Password = Annotated[Text, Field(min_length=MIN_PASSWORD_CHARS, max_length=128)]
NewPassword = Annotated[Password, AfterValidator(_strong)]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=KEY_PATTERN)]
RoomName = Annotated[str, Field(min_length=1, max_length=64, pattern=ROOM_PATTERN)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(Body):
    """Logging in: any password within the bounds (an account keeps working if the rules change)."""

    username: Username
    password: Password


class NewAccount(Body):
    """Signing up: the password must be strong enough (see :func:`_strong`)."""

    username: Username
    password: NewPassword


class NewRoom(Body):
    room: RoomName


class NewMember(Body):
    username: Username


class NewMessage(Body):
    client_msg_id: Key
    text: Annotated[Text, Field(min_length=1, max_length=2000)]


class NewTransfer(Body):
    from_user: Username | None = Field(
        default=None, description="Owner of the wallet paid from; must be the token's owner (else "
                                  "403). Omitted: the token's owner.")
    to_user: Username
    amount: Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT,
                                 description="Integer minor units, 1..100000000")]
    idempotency_key: Key


class ReadbackQuery(Body):
    ids: Annotated[list[Annotated[Text, Field(max_length=200)]],
                   Field(max_length=MAX_READBACK_IDS)]


class Error(BaseModel):
    """Every refusal: ``{"error": "..."}``; a 422 adds ``detail`` (one entry per bad field)."""

    error: str
    detail: list[dict] | None = None
