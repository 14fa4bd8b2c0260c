"""Time one page of the portal as a signed-in user sees it: the whole WSGI request
through the app, as the server runs it, after warm-up requests that fill the caches."""

import statistics
import time
from datetime import datetime

WARM_UP = 20


def time_get(url: str, path: str, email: str, password: str, *, repeat: int,
             now: datetime, profile: bool = False) -> tuple[list[float], str]:
    """Milliseconds per request of GET *path* (sorted) and the last page's text; with
    *profile*, print where the timed requests spend their time."""
    from freezegun import freeze_time

    from exam_portal import create_app

    # Signing in once, as a browser would; the timed requests are plain GETs.
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret",
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    times, profiler = [], None
    with freeze_time(now, tick=True):
        client = app.test_client()
        login = client.post("/auth/login", data={"email": email, "password": password})
        assert login.status_code == 302, login.status_code
        for number in range(repeat + WARM_UP):
            if profile and number == WARM_UP:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            began = time.perf_counter()
            response = client.get(path)
            took = time.perf_counter() - began
            assert response.status_code == 200, response.status_code
            if number >= WARM_UP:
                times.append(took * 1000)
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        page = response.get_data(as_text=True)
    return sorted(times), page


def summary(times: list[float]) -> str:
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return f"median {statistics.median(times):.1f} ms, p99 {p99:.1f} ms over {len(times)} requests"
