"""Money and numbers as people read them where they are: the program's currency
(``Program.currency``), its symbol, and the active language's decimal mark, grouping and symbol
position."""

from __future__ import annotations

from decimal import Decimal

from django.utils import formats, translation
from django.utils.functional import lazy

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CHF": "CHF", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}
# Languages that write the symbol after the figure (12,50 €; 12,50 CHF).
SYMBOL_AFTER = {"de", "fr", "it"}
NBSP = "\u00a0"


def money(amount: Decimal | int, currency: str) -> str:
    """``$1,234.50`` in English, ``1.234,50 €`` in German, ``1 234,50 CHF`` in French; whole
    amounts without decimals."""
    amount = Decimal(amount)
    places = 0 if amount == amount.to_integral_value() else 2
    figure = formats.number_format(amount, places, use_l10n=True, force_grouping=True)
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    language = (translation.get_language() or "en").split("-")[0]
    if language in SYMBOL_AFTER:
        return f"{figure}{NBSP}{symbol}"
    return f"{symbol}{NBSP}{figure}" if symbol.isalpha() else f"{symbol}{figure}"


def whole_number(value: int) -> str:
    """``1,234`` in English, ``1.234`` in German, ``1 234`` in French."""
    return formats.number_format(value, 0, use_l10n=True, force_grouping=True)


# The same, worked out when read, in the language active then: for a message made in one
# language and read in another (a domain error's, English in the API and the member's own in the
# portal: ``members.errors``).
whole_number_lazy = lazy(whole_number, str)
