"""OAuth 2.0 tokens for the API targets: read from a token file or the environment, refreshed with
rotation, and never shown.

Refresh tokens are single-use at freee (and rotate at Intuit and Zoho): the new pair is written to
the token file (temporary file, 0600, fsync, rename) *before* the new access token is used, so a
crash right after a refresh never strands the company with a spent refresh token.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from acctsync_pipelines.lib.errors import PostingError
from acctsync_pipelines.lib.targets.settings import OAuthSettings


class AuthError(PostingError):
    """Tokens are missing, or the target refused them; the message never contains a secret."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float = 0.0  # epoch seconds; 0 = unknown


def write_private_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class OAuthSession:
    """The current access token of one target, with refresh. ``secrets()`` lists what must never be shown."""

    def __init__(self, target: str, settings: OAuthSettings, home: Path, timeout_s: float = 30.0):
        self.target = target
        self.settings = settings
        self.token_file = Path(settings.token_file) if settings.token_file else home / "secrets" / f"{target}_tokens.json"
        self.timeout_s = timeout_s
        self._tokens: Tokens | None = None
        self._seen: set[str] = set()

    def _client_credentials(self) -> tuple[str, str]:
        client_id = os.environ.get(self.settings.client_id_env, "")
        client_secret = os.environ.get(self.settings.client_secret_env, "")
        self._remember(client_secret)
        return client_id, client_secret

    def _remember(self, *values: str) -> None:
        self._seen.update(v for v in values if v)

    def secrets(self) -> set[str]:
        self._client_credentials()
        self._load()
        return set(self._seen)

    def _load(self) -> Tokens:
        if self._tokens is not None:
            return self._tokens
        if self.token_file.is_file():
            try:
                data = json.loads(self.token_file.read_text(encoding="utf-8"))
                tokens = Tokens(str(data.get("access_token") or ""), str(data.get("refresh_token") or ""),
                                float(data.get("expires_at") or 0))
            except (OSError, ValueError) as exc:
                raise AuthError(f"token file {self.token_file} is unreadable ({type(exc).__name__})") from None
        else:
            tokens = Tokens(os.environ.get(self.settings.access_token_env, ""),
                            os.environ.get(self.settings.refresh_token_env, ""))
        if not tokens.access_token and not tokens.refresh_token:
            raise AuthError(
                f"no tokens: set {self.settings.access_token_env} and {self.settings.refresh_token_env}, "
                f"or write the token file {self.token_file}"
            )
        self._remember(tokens.access_token, tokens.refresh_token)
        self._tokens = tokens
        return tokens

    def access_token(self) -> str:
        tokens = self._load()
        # Refresh a little before the recorded expiry; with no access token, refresh at once.
        if not tokens.access_token or (tokens.expires_at and tokens.expires_at - 60 < time.time()):
            tokens = self.refresh()
        return tokens.access_token

    def refresh(self) -> Tokens:
        old = self._load()
        if not old.refresh_token:
            raise AuthError(f"the access token was refused and there is no refresh token "
                            f"({self.settings.refresh_token_env} or {self.token_file})")
        client_id, client_secret = self._client_credentials()
        form = {"grant_type": "refresh_token", "refresh_token": old.refresh_token,
                "client_id": client_id, "client_secret": client_secret}
        try:
            response = httpx.post(self.settings.token_url, data=form, timeout=self.timeout_s,
                                  headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise AuthError(f"token refresh failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            reason = _oauth_error(response)
            raise AuthError(f"token refresh refused (HTTP {response.status_code}{reason}); "
                            f"authorize acctsync again and store the new tokens")
        try:
            body = response.json()
            access, refresh = str(body["access_token"]), str(body.get("refresh_token") or old.refresh_token)
            expires_in = float(body.get("expires_in") or 0)
        except (ValueError, KeyError, TypeError):
            raise AuthError("token refresh answered without an access token") from None
        tokens = Tokens(access, refresh, time.time() + expires_in if expires_in else 0.0)
        self._remember(access, refresh)
        # Durable before use: a refresh token is single-use, the old one is spent now.
        write_private_json(self.token_file, {"access_token": access, "refresh_token": refresh,
                                             "expires_at": tokens.expires_at})
        self._tokens = tokens
        return tokens


def _oauth_error(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return f", {error}" if isinstance(error, str) and error.isascii() and len(error) < 60 else ""
