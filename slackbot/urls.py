"""``include("slackbot.urls")`` serves Slack's request URL at ``events``."""

from django.urls import path

from .views import slack_events

app_name = "slackbot"
urlpatterns = [path("events", slack_events, name="events")]
