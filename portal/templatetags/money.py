from django import template

from portal.formats import money_display

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    """`{{ invoice.gross|money:invoice.currency }}`: rounded and localised."""
    return money_display(amount, currency)
