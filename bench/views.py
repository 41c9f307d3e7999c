"""The two baselines of the `http` benchmark, served by the same gunicorn as the real pages
(mounted at /_bench/ only when YUNSHU_BENCH_VIEWS=1)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.views.generic import ListView

from yunshu.enterprises.forms import EnterpriseFilterForm
from yunshu.enterprises.selectors import enterprise_filter, enterprises_visible_to

TWO_KB = ("<p>" + "云数" * 330 + "</p>").encode()[:2048]


def trivial(request: HttpRequest) -> HttpResponse:
    """The limit of this stack on this machine: routing, middleware, a 2 KB body."""
    return HttpResponse(TWO_KB)


class PlainEnterpriseList(LoginRequiredMixin, ListView):  # type: ignore[type-arg]
    """How most Django sites would write the enterprise list: the same filtered, sorted
    queryset, paginate_by=50, a minimal template."""

    paginate_by = 50
    template_name = "bench/plain_list.html"

    def get_queryset(self) -> Any:
        form = EnterpriseFilterForm(self.request.GET, user=self.request.user)
        qs = enterprise_filter(enterprises_visible_to(self.request.user), **form.filters())
        return qs.order_by(*form.ordering())
