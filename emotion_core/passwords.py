"""The admin password of a shared dashboard, kept as a salted PBKDF2 hash and checked in constant time.

The hash reads ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` (Django's layout), so the secrets file never
holds the password itself and a leaked file costs an attacker ~0.3 s per guess.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCHEME = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """A new salted hash of ``password`` to store in secrets.toml or $EMOTION_ADMIN_PASSWORD_HASH."""
    if not password:
        raise ValueError("the password is empty")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (a hash_password result); False for a malformed ``stored``."""
    try:
        scheme, iterations, salt, expected = stored.strip().split("$")
        if scheme != SCHEME:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
        return hmac.compare_digest(digest, bytes.fromhex(expected))
    except ValueError:
        return False


def valid_hash(stored: str) -> bool:
    """Whether ``stored`` reads as a hash_password result (a plain password pasted there does not)."""
    parts = stored.strip().split("$")
    return len(parts) == 4 and parts[0] == SCHEME and parts[1].isdigit() and all(parts[2:])
