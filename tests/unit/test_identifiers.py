import pytest

from service.errors import InvalidInput
from service.identifiers import is_withheld, normalize_domain, normalize_email, normalize_phone


@pytest.mark.parametrize(
    "raw",
    ["(212) 555-0142", "212.555.0142", "+1 212 555 0142", "+12125550142", "0012125550142", "01112125550142",
     "tel:+1-212-555-0142", "sip:+12125550142@pbx.example.com;user=phone", "1 (212) 555-0142", " 212-555-0142 "],
)
def test_every_common_phone_form_normalises_to_e164(raw: str) -> None:
    assert normalize_phone(raw, "US") == "+12125550142"


def test_national_numbers_use_the_default_region() -> None:
    assert normalize_phone("020 7946 0018", "GB") == "+442079460018"


def test_a_national_number_starting_011_is_not_taken_for_an_international_prefix() -> None:
    # Sheffield (0114) in a British deployment; 011 stays the international prefix elsewhere.
    assert normalize_phone("0114 496 0000", "GB") == "+441144960000"
    assert normalize_phone("011 44 114 496 0000", "US") == "+441144960000"
    assert normalize_phone("0044 114 496 0000", "US") == "+441144960000"


def test_a_plus_lost_to_query_string_decoding_is_restored() -> None:
    assert normalize_phone(" 442079460018", "US") == "+442079460018"
    assert normalize_phone(" 12125550142", "GB") == "+12125550142"


@pytest.mark.parametrize("raw", ["hello", "12", "++", "", "sip:alice@example.com", "1" * 41])
def test_text_that_is_no_phone_is_invalid(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_phone(raw, "US")


@pytest.mark.parametrize("raw", ["", "anonymous", "Restricted", "UNKNOWN", "+266696687"])
def test_withheld_caller_ids(raw: str) -> None:
    assert is_withheld(raw)


def test_emails_and_domains_are_case_insensitive_and_validated() -> None:
    assert normalize_email(" Office@AcmeDental.COM ") == "office@acmedental.com"
    assert normalize_domain("@AcmeDental.com.") == "acmedental.com"
    for bad in ("no-at-sign", "a@b", "a @b.com", "a@-b.com"):
        with pytest.raises(InvalidInput):
            normalize_email(bad)
    with pytest.raises(InvalidInput):
        normalize_domain("not a domain")
