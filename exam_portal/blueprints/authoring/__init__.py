from . import relink_views, transfer_views  # noqa: F401  (register their routes on bp)
from .views import bp  # noqa: F401
