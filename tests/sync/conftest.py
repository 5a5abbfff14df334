import pytest

from wagtail_xpm import services


@pytest.fixture
def sync(connected_site):
    """Run a sync of the connected site in the foreground and return the finished run."""

    def run(**options):
        return services.run_sync(connected_site, trigger="cli", **options)

    return run
