"""Short tasks are taken ahead of sync steps from a real Huey queue.

PriorityRedisHuey when REDIS_URL is set (what docs/production.md configures), else a
SqliteHuey file (the development queue); both order by priority (wagtail_xpm/priorities.py).
"""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from huey import PriorityRedisHuey, SqliteHuey

from wagtail_xpm import priorities
from wagtail_xpm.campaigns import tasks as campaign_tasks
from wagtail_xpm.leads import tasks as lead_tasks
from wagtail_xpm.sync import tasks


@pytest.fixture
def queue(tmp_path):
    name = f"wagtail_xpm_test_{uuid.uuid4().hex[:8]}"
    if settings.REDIS_URL:
        huey = PriorityRedisHuey(name, url=settings.REDIS_URL)
    else:
        huey = SqliteHuey(name, filename=str(tmp_path / "huey.sqlite3"))
    yield huey
    huey.storage.flush_all()


def put(queue, task) -> None:
    queue.storage.enqueue(tasks.sync_connection.huey.serialize_task(task), task.priority)


def test_a_short_task_queued_behind_sync_steps_is_taken_first(queue):
    steps = [tasks.sync_connection.s(run_id) for run_id in range(1, 9)]
    for step in steps:
        put(queue, step)
    lead = lead_tasks.deliver_lead.s(42)
    campaign = campaign_tasks.send_campaign.s(7)
    put(queue, lead)
    put(queue, campaign)

    order = [queue.storage.dequeue() for _ in range(len(steps) + 2)]
    names = [tasks.sync_connection.huey.deserialize_task(data).name for data in order]
    assert names[:2] == ["deliver_lead", "send_campaign"], names
    assert set(names[2:]) == {"sync_connection"}
    # Sync steps keep their order among themselves (first queued, first taken).
    ids = [tasks.sync_connection.huey.deserialize_task(data).args[0] for data in order[2:]]
    assert ids == list(range(1, 9))


def test_the_periodic_short_tasks_and_slack_replies_are_short():
    from slackbot import tasks as slack_tasks

    for task in (
        tasks.schedule_syncs,
        lead_tasks.sweep_leads,
        campaign_tasks.send_due_campaigns,
        slack_tasks.follow_sync,
        slack_tasks.post_notification,
    ):
        assert task.s().priority == priorities.SHORT, task.name
    assert tasks.sync_connection.s(1).priority == priorities.SYNC_STEP
