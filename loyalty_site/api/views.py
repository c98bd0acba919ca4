from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView


@extend_schema(exclude=True)
class UnknownEndpoint(APIView):
    """No such endpoint: 401 without a valid key, else 404, both in the error envelope."""

    def _not_found(self, request, *args, **kwargs):
        raise NotFound("No such endpoint.")

    get = post = put = patch = delete = _not_found
