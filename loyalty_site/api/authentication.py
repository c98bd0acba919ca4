"""Store API keys: ``Authorization: Bearer <key>``. The request's ``user`` is the store's
client, ``auth`` the key row."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from members.api_keys import api_key_authenticate
from members.models import ApiKey, Store

from .throttling import FailedKeyThrottle


@dataclass(frozen=True)
class StoreClient:
    """Who is calling: a store, through one of its keys."""

    store: Store
    key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def pk(self) -> int:
        return self.key.pk


class WrongKeysThrottled(exceptions.Throttled):
    default_detail = "Too many wrong keys from this address."


class StoreKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not raw_key.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <key>'.")
        guesses = FailedKeyThrottle()
        if guesses.blocked(request):
            raise WrongKeysThrottled(wait=guesses.wait())
        key = api_key_authenticate(raw_key.strip())
        if key is None:
            guesses.failed(request)
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return StoreClient(store=key.store, key=key), key

    def authenticate_header(self, request) -> str:
        return self.keyword


class IsStore(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, StoreClient)


class StoreKeyScheme(OpenApiAuthenticationExtension):
    """Tells the schema (and so the fuzzer and the docs) how stores authenticate."""

    target_class = StoreKeyAuthentication
    name = "storeKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A store's API key."}
