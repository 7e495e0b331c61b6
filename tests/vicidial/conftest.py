"""The scripted VICIdial over real HTTP on 127.0.0.1 (test_api.py) and a client of it, for the API tests."""
import httpx
import pytest

from aliassync.vicidial.api import ApiClient

from test_api import PASSWORD, USER, FakeVicidial


@pytest.fixture
def vicidial():
    fake = FakeVicidial()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def client(vicidial):
    api = ApiClient(vicidial.url, USER, PASSWORD, timeout=httpx.Timeout(5.0, read=0.5))
    yield api
    api.close()
