from pathlib import Path

import pytest
from django.conf import settings

SHARED = Path(settings.BASE_DIR).parent / "shared" / "ofn" / "replica_schema.sql"


def test_vendored_replica_schema_matches_the_shared_reference():
    # The portal ships its own copy so a clone works alone; it must not drift.
    if not SHARED.exists():
        pytest.skip("no shared/ofn/replica_schema.sql beside this checkout")
    assert Path(settings.OFN_REPLICA_SCHEMA).read_bytes() == SHARED.read_bytes()
