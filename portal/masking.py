"""Masking personal data for people whose role does not need it (billing rule 11).

The masks reveal a first character and nothing of the length of what they hide:
`potato.eggplant@vegetables.com` -> `p***@vegetables.com`, `Maria Lopez` ->
`M*** L***`. Phone numbers keep their country code and last three digits. The same
functions serve pages, CSV exports, PDF previews, alerts and logs.
"""

import re

MASK = "***"

# ITU-T E.164 country calling codes form a prefix code: these one- and two-digit codes
# are complete, every other code has three digits. Only needed when a number is
# written without a separator after its country code (+34612345678).
_ONE_DIGIT_CODES = {"1", "7"}
_TWO_DIGIT_CODES = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44",
    "45", "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58",
    "60", "61", "62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91",
    "92", "93", "94", "95", "98",
}  # fmt: skip
_COUNTRY_CODE = re.compile(r"^\s*(\+[0-9]+)")
_KEPT_DIGITS = 3


def mask_email(value: str) -> str:
    """`local@domain` as its first character, `***` and the domain.

    Text without an `@` is not an email address and is masked whole.
    """
    value = (value or "").strip()
    if not value:
        return ""
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return _mask_word(value)
    return f"{local[0]}{MASK}@{domain}"


def mask_name(value: str) -> str:
    """Each word as its first character and `***`: `Maria Lopez` -> `M*** L***`."""
    return " ".join(_mask_word(word) for word in (value or "").split())


def mask_phone(value: str) -> str:
    """Every digit masked but a leading `+country code` and the last three digits.

    `+34 612 345 678` -> `+34 *** *** 678`; `612 345 678` -> `*** *** 678`. The
    separators stay where they were, so the number still reads as a phone number.
    """
    value = (value or "").strip()
    code, rest = _split_country_code(value)
    digits = sum(character.isdigit() for character in rest)
    shown = digits - _KEPT_DIGITS
    masked = []
    for character in rest:
        if character.isdigit():
            masked.append("*" if shown > 0 else character)
            shown -= 1
        else:
            masked.append(character)
    return code + "".join(masked)


def _split_country_code(value: str) -> tuple[str, str]:
    match = _COUNTRY_CODE.match(value)
    if match is None:
        return "", value
    digits = match.group(1)[1:]
    if match.end() < len(value) or len(digits) <= 3:
        # "+34 612...": the separator ends the code.
        return match.group(1), value[match.end() :]
    if digits[:1] in _ONE_DIGIT_CODES:
        length = 1
    elif digits[:2] in _TWO_DIGIT_CODES:
        length = 2
    else:
        length = 3
    return f"+{digits[:length]}", digits[length:]


def _mask_word(word: str) -> str:
    return f"{word[0]}{MASK}" if word else ""


def mask_personal(value: str) -> str:
    """A text cell that may hold an email address (a subject named after its
    owner's login): the address masked, any other text returned as it is."""
    if value and "@" in value and " " not in value.strip():
        return mask_email(value)
    return value
