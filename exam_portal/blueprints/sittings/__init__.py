from . import (  # noqa: F401  (each registers its routes on bp)
    candidate_views,
    evidence_views,
    form_views,
    payment_views,
    registration_views,
    review_views,
    score_views,
    seating_views,
)
from .views import bp  # noqa: F401
