"""Masking personal data (rule 11, case X01): first character, a fixed "***", and
nothing that tells the length of what is hidden."""

import pytest

from portal.masking import mask_email, mask_name, mask_personal, mask_phone


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("potato.eggplant@vegetables.com", "p***@vegetables.com"),
        ("o'connor@example.com", "o***@example.com"),
        ("ab@x.io", "a***@x.io"),
        ("  Ana@Example.org ", "A***@Example.org"),
        ("", ""),
        ("not-an-address", "n***"),
    ],
    ids=["long", "apostrophe", "short", "spaces", "empty", "no-at"],
)
def test_mask_email_keeps_the_first_character_and_the_domain(email, masked):
    # when / then
    assert mask_email(email) == masked


def test_mask_email_hides_the_length_of_the_local_part():
    # when
    short, long = mask_email("ab@x.io"), mask_email("abcdefghijklmnop@x.io")

    # then
    assert len(short) == len(long)
    assert "connor" not in mask_email("o'connor@example.com")
    assert "eggplant" not in mask_email("potato.eggplant@vegetables.com")


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+34 612 345 678", "+34 *** *** 678"),
        ("612 345 678", "*** *** 678"),
        ("+44 7700 900123", "+44 **** ***123"),
        ("+34612345678", "+34******678"),
        ("+1 (416) 555-0199", "+1 (***) ***-*199"),
        ("", ""),
    ],
    ids=["spain", "no-country-code", "uk", "no-separator", "canada", "empty"],
)
def test_mask_phone_keeps_the_country_code_and_last_three_digits(phone, masked):
    # when / then
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [("Maria Lopez", "M*** L***"), ("Émile  Zola ", "É*** Z***"), ("", "")],
    ids=["two-words", "accents-and-spaces", "empty"],
)
def test_mask_name_masks_each_word(name, masked):
    # when / then
    assert mask_name(name) == masked


def test_mask_personal_masks_an_address_and_leaves_a_company_name():
    # when / then
    assert mask_personal("potato.eggplant@vegetables.com") == "p***@vegetables.com"
    assert mask_personal("Green Valley Hub") == "Green Valley Hub"
    assert mask_personal("Müller & Söhne @ Market") == "Müller & Söhne @ Market"
