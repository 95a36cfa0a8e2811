"""Placeholder: replaced by the synchronous dispatcher (issue 2)."""

from django.http import JsonResponse
from django.views import View


class ServiceView(View):
    def dispatch(self, request, *args, **kwargs):
        return JsonResponse({"message": "Request does not match any route.", "parameters": []}, status=404)
