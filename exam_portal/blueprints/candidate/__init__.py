from . import note_views, report_views, study_views  # noqa: F401  (register their routes on bp)
from .views import bp  # noqa: F401
