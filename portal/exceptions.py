"""One exception hierarchy for the portal; every message is safe to show to a user."""


class PortalError(Exception):
    """Base of every error the portal raises on purpose."""


class InvalidInput(PortalError):
    """A user or command gave a value the portal cannot use."""


class ReplicaError(PortalError):
    """An OFN replica could not answer; the message names the instance and the cause."""


class ReplicaUnavailable(ReplicaError):
    """The replica refused the connection, timed out or rejected the credentials."""


class ReplicaSchemaMismatch(ReplicaError):
    """A table or column the portal reads is missing on the replica."""


class ReplicaWriteRefused(PortalError):
    """Something tried to write to an OFN replica; the portal never does."""


class BillingError(PortalError):
    """A billing run or invoice operation cannot proceed."""


class PdfRenderError(PortalError):
    """A PDF could not be rendered: an asset was refused or missing, or fonts lack."""


class WrongDatabase(PortalError):
    """An OFN model was queried without its replica alias (a programming error)."""
