"""Placeholder: replaced by the asynchronous and bulk API (issue 4)."""

from django.http import JsonResponse
from django.views import View


class AsyncView(View):
    def dispatch(self, request, *args, **kwargs):
        return JsonResponse({"message": "Request does not match any route.", "parameters": []}, status=404)


class AsyncBulkView(AsyncView):
    pass
