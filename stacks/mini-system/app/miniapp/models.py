"""Request bodies and their bounds. FastAPI answers a body that breaks them with 422 naming the field.

Integers are strict (``"5"``, ``5.0`` and ``true`` are not amounts); strings are bounded in length
and, where they become keys, in alphabet.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

USERNAME_PATTERN = r"^[a-z0-9_-]+$"
ROOM_PATTERN = r"^[A-Za-z0-9_-]+$"
KEY_PATTERN = r"^[A-Za-z0-9_.:-]+$"  # client message ids and idempotency keys (uuids fit)
MAX_AMOUNT = 100_000_000  # minor units
MAX_READBACK_IDS = 5000


def _no_nul(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold NUL: refuse it here, not in the database
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Username = Annotated[str, Field(min_length=3, max_length=40, pattern=USERNAME_PATTERN)]
Password = Annotated[str, Field(min_length=8, max_length=128)]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=KEY_PATTERN)]


class Credentials(BaseModel):
    username: Username
    password: Password


class NewMessage(BaseModel):
    client_msg_id: Key
    text: Annotated[Text, Field(min_length=1, max_length=2000)]


class NewTransfer(BaseModel):
    to_user: Username
    amount: Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT)]
    idempotency_key: Key


class ReadbackQuery(BaseModel):
    ids: Annotated[list[Annotated[Text, Field(max_length=200)]],
                   Field(max_length=MAX_READBACK_IDS)]
