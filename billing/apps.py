from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from anymail.signals import tracking

        from . import checks  # noqa: F401 (registers the PDF font check)
        from .services.deliveries import delivery_tracking_receiver

        # Provider events (delivered, bounced) update the invoice send log.
        tracking.connect(delivery_tracking_receiver, dispatch_uid="billing.delivery")
