"""Django's session, authentication and messages middleware, stepping aside for the API.

A request under ``/api/`` carries a store's key, never a session cookie, and answers JSON: the
session, the session's user and the message store are only a cost to it. These subclasses run
the middleware they extend exactly as before for every other path (the portal, admin, allauth's
pages, the staff pages) and pass an API request straight on. DRF sets the API request's user
from its key.

CSRF and allauth's middleware stay as they are (the deploy checks and allauth look for them by
name); for the API's views, which are all CSRF-exempt, they do no more than look for a cookie.
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class SessionMiddleware(DjangoSessionMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            return self.get_response(request)
        return super().__call__(request)


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            return self.get_response(request)
        return super().__call__(request)


class MessageMiddleware(DjangoMessageMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            return self.get_response(request)
        return super().__call__(request)
