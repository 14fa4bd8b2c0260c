from . import bulk_views, relink_views, report_views, transfer_views  # noqa: F401  (their routes, on bp)
from .views import bp  # noqa: F401
