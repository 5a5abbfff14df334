"""``include("slackbot.urls")`` serves Slack's request URL at ``events``."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .conf import MISSING_EXTRA, bolt_installed

app_name = "slackbot"

if bolt_installed():
    from .views import slack_events
else:  # the site still starts; `manage.py check` reports slackbot.E010

    @csrf_exempt
    def slack_events(request: HttpRequest) -> HttpResponse:
        return HttpResponse(MISSING_EXTRA, status=503, content_type="text/plain")


urlpatterns = [path("events", slack_events, name="events")]
