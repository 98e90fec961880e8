"""Machine-readable billing files: the run JSON and the accountant exports.

runs: the JSON of `run_billing --json`. accountant: the invoices CSV and its reader.
xero: Xero's sales-invoice import layout. cells: rule 10 (BOM, plain numbers,
neutralised text). figures: tax by rate and signs shared with the PDF.
"""

import logging
from dataclasses import dataclass

from django.db import models

from instances.models import Instance

from .accountant import invoice_csv, read_invoice_csv
from .runs import billing_run_as_dict
from .selectors import ExportScope, export_invoice_list, export_issuer
from .xero import XERO_HEADER, xero_csv

logger = logging.getLogger(__name__)


class ExportFormat(models.TextChoices):
    CSV = "csv", "Invoices and credit notes (CSV)"
    XERO = "xero", "Xero sales-invoice import (CSV)"


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    documents: int
    content_type: str = "text/csv; charset=utf-8"


def invoice_export(
    *,
    instance: Instance,
    scope: ExportScope,
    export_format: str,
    reveal_personal: bool,
) -> ExportFile:
    """The export of `scope` in `export_format`; personal data masked unless revealed.

    `reveal_personal` is for the roles that send invoices (managers, global admins,
    operators at the command line); accountants get the subject's email masked.
    """
    invoices = list(export_invoice_list(instance=instance, scope=scope))
    if export_format == ExportFormat.XERO:
        content = xero_csv(
            invoices,
            issuer=export_issuer(instance=instance),
            reveal_personal=reveal_personal,
        )
    else:
        content = invoice_csv(invoices, reveal_personal=reveal_personal)
    kind = "xero" if export_format == ExportFormat.XERO else "invoices"
    logger.info(
        "Invoice export built",
        extra={
            "instance": instance.slug,
            "scope": scope.label,
            "format": export_format,
            "documents": len(invoices),
        },
    )
    return ExportFile(
        filename=f"{instance.slug}-{kind}-{scope.label}.csv",
        content=content,
        documents=len(invoices),
    )


__all__ = [
    "XERO_HEADER",
    "ExportFile",
    "ExportFormat",
    "ExportScope",
    "billing_run_as_dict",
    "export_invoice_list",
    "invoice_csv",
    "invoice_export",
    "read_invoice_csv",
    "xero_csv",
]
