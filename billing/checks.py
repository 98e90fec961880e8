from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register("pdf", deploy=True)
def pdf_fonts_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """`manage.py check --deploy` fails on machines that would print empty boxes."""
    from .pdf import pdf_font_check

    try:
        pdf_font_check()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="billing.E001")]
    return []
