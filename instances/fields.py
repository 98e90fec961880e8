import datetime as dt

from django.db import models


class UTCDateTimeField(models.DateTimeField):
    """An OFN `timestamp without time zone` column, which holds UTC wall-clock time.

    Values read from the replica come back aware (UTC), and aware values written into a
    lookup are turned into naive UTC, so the comparison happens in the column's own type
    whatever the session or process zone (rule 1 of the billing rules). Naive values
    and plain dates are refused: Django would read them in the process zone.
    """

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value

    def get_prep_value(self, value):
        value = models.Field.get_prep_value(self, value)
        if value is not None and (
            not isinstance(value, dt.datetime) or value.tzinfo is None
        ):
            raise TypeError(
                f"OFN timestamp {self.name} compared with {value!r}: use an aware "
                "datetime (portal.periods gives local bounds as UTC instants)."
            )
        return value

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        if connection.vendor == "sqlite" and isinstance(value, dt.datetime):
            return value.isoformat(sep=" ")
        return value
