from . import study_views  # noqa: F401  (registers its routes on bp)
from .views import bp  # noqa: F401
