"""Tests for showroom.validation: identifiers are normalised or rejected with clear messages."""

from __future__ import annotations

import datetime as dt

import pytest

from showroom.errors import ValidationError
from showroom.validation import (
    format_phone,
    format_plate,
    id_check_digit,
    id_number_birthday,
    id_number_gender,
    mask_id_number,
    mask_phone,
    normalize_email,
    normalize_id_number,
    normalize_name,
    normalize_phone,
    normalize_plate,
    normalize_vin,
    phone_search_key,
    search_text,
    vin_check_digit,
)


def _raises(func, value, field: str | None = None) -> ValidationError:
    """Call a normaliser that must reject ``value`` and return the error for inspection."""
    with pytest.raises(ValidationError) as info:
        if field is None:
            func(value)
        else:
            func(value, field=field)
    error = info.value
    assert error.message_zh.strip()
    assert error.message_en.strip()
    return error


# --------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "0086 13812345678",
        "  13812345678\t",
        "１３８１２３４５６７８",  # full-width digits from a Chinese input method
    ],
)
def test_mainland_mobile_spellings_share_one_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+8613812345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+1 650 253 0000", "+16502530000"),
        ("010-62345678", "+861062345678"),
        ("(010) 6234 5678", "+861062345678"),
        ("0755 8888 6666", "+8675588886666"),
        ("19912345678", "+8619912345678"),
    ],
)
def test_other_accepted_phone_numbers(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment_en"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("12345678901", "not a valid mainland China mobile"),
        ("1381234567", "has 11 digits; this one has 10"),
        ("138123456789", "has 11 digits; this one has 12"),
        ("138abc45678", "letters"),
        ("138*1234*5678", "illegal character"),
        ("138+12345678", "'+'"),
        ("62345678", "area code"),
        ("0101234", "too short"),
        ("0101234567890", "too long"),
        ("+44 1234", "too short"),
        ("+44 2079 4609 5812 345", "at most 15 digits"),
        ("+999 1234567", "country code"),
        ("+853 6123 4567", "not a valid number"),
        ("---", "no digits"),
    ],
)
def test_invalid_phone_numbers_are_rejected(raw: str, fragment_en: str) -> None:
    error = _raises(normalize_phone, raw)
    assert error.field == "phone"
    assert fragment_en in error.message_en


def test_phone_error_names_the_letter() -> None:
    error = _raises(normalize_phone, "1381234567x")
    assert "'x'" in error.message_zh
    assert "'x'" in error.message_en


@pytest.mark.parametrize(
    ("e164", "key"),
    [
        ("+8613812345678", "13812345678"),
        ("+861062345678", "1062345678"),
        ("+442079460958", "442079460958"),
    ],
)
def test_phone_search_key(e164: str, key: str) -> None:
    assert phone_search_key(e164) == key


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+8613812345678", "138 1234 5678"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+861062345678", "+86 10 6234 5678"),
    ],
)
def test_format_phone(e164: str, shown: str) -> None:
    assert format_phone(e164) == shown


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+8613800138000", "138****8000"),
        ("+8613812345678", "138****5678"),
        ("+442079460958", "+44 2* **** 0958"),
        ("+861062345678", "+86 1* **** 5678"),
    ],
)
def test_mask_phone(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


@pytest.mark.parametrize("func", [phone_search_key, format_phone, mask_phone])
def test_phone_helpers_refuse_unnormalised_input(func) -> None:
    with pytest.raises(ValueError):
        func("13812345678")


# --------------------------------------------------------------------------------------------
# VIN
# --------------------------------------------------------------------------------------------

TEXTBOOK_VIN = "1M8GDM9AXKP042788"
# A Chinese-style VIN whose check digit is computed rather than trusted.
_CN_VIN_BASE = "LSVAU2180N2183294"
CHINESE_VIN = _CN_VIN_BASE[:8] + vin_check_digit(_CN_VIN_BASE) + _CN_VIN_BASE[9:]


@pytest.mark.parametrize(
    ("vin", "digit"),
    [
        (TEXTBOOK_VIN, "X"),
        ("5GZCZ43D13S812715", "1"),
        ("11111111111111111", "1"),
        # Position 9 is ignored, whatever stands there.
        ("1M8GDM9A0KP042788", "X"),
        ("1m8gdm9axkp042788", "X"),
    ],
)
def test_vin_check_digit_known_values(vin: str, digit: str) -> None:
    assert vin_check_digit(vin) == digit


def test_chinese_vin_check_digit_is_hand_checked() -> None:
    # L3 S2 V5 A1 U4 2 1 8 . N5 2 1 8 3 2 9 4 with weights 8 7 6 5 4 3 2 10 0 9 8 7 6 5 4 3 2:
    # 24+14+30+5+16+6+2+80+45+16+7+48+15+8+27+8 = 351, 351 % 11 = 10 -> "X".
    assert vin_check_digit(_CN_VIN_BASE) == "X"
    assert CHINESE_VIN == "LSVAU218XN2183294"


@pytest.mark.parametrize("bad", ["1M8GDM9AXKP04278", "1M8GDM9AXKO042788", ""])
def test_vin_check_digit_rejects_malformed_input(bad: str) -> None:
    with pytest.raises(ValueError):
        vin_check_digit(bad)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (TEXTBOOK_VIN, TEXTBOOK_VIN),
        (" 1m8gdm9axkp042788 ", TEXTBOOK_VIN),
        ("1M8G DM9A XKP0 42788", TEXTBOOK_VIN),
        (CHINESE_VIN, CHINESE_VIN),
        (CHINESE_VIN.lower(), CHINESE_VIN),
        ("5GZCZ43D13S812715", "5GZCZ43D13S812715"),
    ],
)
def test_valid_vins(raw: str, expected: str) -> None:
    assert normalize_vin(raw) == expected


# Transliteration values written out independently of the code under test (ISO 3779 table).
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}


def _different_value_char(char: str) -> str:
    # Swapping A for J or 1 keeps the weighted sum, a legitimately undetectable change, so pick
    # a digit whose transliterated value differs; every non-zero weight is coprime with 11, so
    # such a change always alters the check digit.
    return next(d for d in "0123456789" if int(d) != _VIN_VALUES[char])


@pytest.mark.parametrize("position", [i for i in range(17) if i != 8])
def test_any_single_character_change_breaks_the_chinese_vin(position: int) -> None:
    substitute = _different_value_char(CHINESE_VIN[position])
    changed = CHINESE_VIN[:position] + substitute + CHINESE_VIN[position + 1 :]
    error = _raises(normalize_vin, changed)
    assert error.field == "vin"
    assert "check digit" in error.message_en


def test_wrong_vin_check_digit_names_expected_and_found() -> None:
    error = _raises(normalize_vin, "1M8GDM9A3KP042788")
    assert "should be X but is 3" in error.message_en
    assert "应为 X" in error.message_zh
    assert "实际为 3" in error.message_zh


@pytest.mark.parametrize(
    ("raw", "fragment_en"),
    [
        ("", "empty"),
        ("1M8GDM9AXKP04278", "this one has 16"),
        ("1M8GDM9AXKP0427888", "this one has 18"),
        ("1M8GDM9AXKI042788", "letter I"),
        ("1M8GDM9AXKO042788", "letter O"),
        ("QM8GDM9AXKP042788", "letter Q"),
        ("1M8GDM9AXKP04278#", "'#'"),
    ],
)
def test_invalid_vins(raw: str, fragment_en: str) -> None:
    error = _raises(normalize_vin, raw)
    assert error.field == "vin"
    assert fragment_en in error.message_en


def test_vin_illegal_letter_message_names_position() -> None:
    error = _raises(normalize_vin, "1M8GDM9AXKO042788")
    assert "Character 11" in error.message_en
    assert "第 11 位" in error.message_zh


# --------------------------------------------------------------------------------------------
# Licence plates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("粤B12345", "粤B12345"),
        ("粤b12345", "粤B12345"),
        (" 粤B·12345 ", "粤B12345"),
        ("粤B•12345", "粤B12345"),
        ("粤B-1234 5", "粤B12345"),
        ("京A8F2K9", "京A8F2K9"),
        ("粤BD12345", "粤BD12345"),  # small new-energy
        ("粤bfa1234", "粤BFA1234"),  # small new-energy, lowercase, letter in 4th place
        ("沪AK12345", "沪AK12345"),
        ("粤B12345D", "粤B12345D"),  # large new-energy
        ("粤B12345F", "粤B12345F"),
        ("粤B1234学", "粤B1234学"),
        ("京A1234警", "京A1234警"),
        ("粤Z1234港", "粤Z1234港"),
        ("粤Z1234澳", "粤Z1234澳"),
        ("鲁A1234挂", "鲁A1234挂"),
    ],
)
def test_valid_plates(raw: str, expected: str) -> None:
    assert normalize_plate(raw) == expected


@pytest.mark.parametrize(
    "province", "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
)
def test_every_province_abbreviation_is_accepted(province: str) -> None:
    assert normalize_plate(f"{province}A12345") == f"{province}A12345"


@pytest.mark.parametrize(
    ("raw", "fragment_en"),
    [
        ("", "empty"),
        ("港B12345", "not a province abbreviation"),
        ("AB12345", "not a province abbreviation"),
        ("粤112345", "issuing-authority letter"),
        ("粤", "found nothing"),
        ("粤B1234", "this one has 6"),
        ("粤B1234567", "this one has 9"),
        ("粤B1234I", "letter I"),
        ("粤BO1234", "letter O"),
        ("粤BDI2345", "letter I"),
        ("粤B学1234", "may only be the last character"),
        ("粤BD1234学", "may only be the last character"),
        ("粤B12#45", "not allowed"),
        ("粤BL12345", "new-energy"),  # 3rd char not a small-NEV marker, last not D/F
        ("粤BD1A234", "new-energy"),  # small NEV needs 4 trailing digits
        ("粤B1234AD", "new-energy"),  # large NEV needs 5 digits before D
        ("粤B12345A", "new-energy"),
    ],
)
def test_invalid_plates(raw: str, fragment_en: str) -> None:
    error = _raises(normalize_plate, raw)
    assert error.field == "plate"
    assert fragment_en in error.message_en


@pytest.mark.parametrize(
    ("plate", "shown"),
    [
        ("粤B12345", "粤B·12345"),
        ("粤BD12345", "粤B·D12345"),
        ("粤B12345D", "粤B·12345D"),
        ("粤b·12345", "粤B·12345"),
    ],
)
def test_format_plate(plate: str, shown: str) -> None:
    assert format_plate(plate) == shown


# --------------------------------------------------------------------------------------------
# Resident ID numbers
# --------------------------------------------------------------------------------------------

TEXTBOOK_ID = "11010519491231002X"  # the GB 11643 example: female, born 1949-12-31


def _id_with_check(first17: str) -> str:
    return first17 + id_check_digit(first17)


LEAP_DAY_MACAU_ID = _id_with_check("82000020000229001")


@pytest.mark.parametrize(
    ("first17", "digit"),
    [
        ("11010519491231002", "X"),
        ("44052418800101001", "4"),
        ("11010119900307123", "3"),
    ],
)
def test_id_check_digit_known_values(first17: str, digit: str) -> None:
    assert id_check_digit(first17) == digit


@pytest.mark.parametrize("bad", ["1101051949123100", "1101051949123100X", "110105194912310021"])
def test_id_check_digit_rejects_malformed_input(bad: str) -> None:
    with pytest.raises(ValueError):
        id_check_digit(bad)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (TEXTBOOK_ID, TEXTBOOK_ID),
        ("11010519491231002x", TEXTBOOK_ID),
        ("  110105 19491231 002x ", TEXTBOOK_ID),
        ("110101199003071233", "110101199003071233"),
        (LEAP_DAY_MACAU_ID, LEAP_DAY_MACAU_ID),
    ],
)
def test_valid_id_numbers(raw: str, expected: str) -> None:
    assert normalize_id_number(raw) == expected


VALID_PROVINCE_CODES = [
    *range(11, 16),
    *range(21, 24),
    *range(31, 38),
    *range(41, 47),
    *range(50, 55),
    *range(61, 66),
    71,
    81,
    82,
]


@pytest.mark.parametrize("code", range(10, 100))
def test_province_codes(code: int) -> None:
    number = _id_with_check(f"{code}010519800101001")
    if code in VALID_PROVINCE_CODES:
        assert normalize_id_number(number) == number
    else:
        error = _raises(normalize_id_number, number)
        assert f"{code}, are not a valid province code" in error.message_en
        assert str(code) in error.message_zh


def test_id_number_born_today_is_accepted(today) -> None:
    number = _id_with_check("310101" + today.strftime("%Y%m%d") + "001")
    assert normalize_id_number(number) == number


@pytest.mark.parametrize(
    ("raw", "fragment_en"),
    [
        ("", "empty"),
        ("1101051949123100", "this one has 16"),
        ("110105491231002", "old 15-digit"),
        ("11010519491231002XX", "this one has 19"),
        ("A1010519491231002X", "Character 1"),
        ("11010519491231002Y", "must be a digit or X"),
        ("110105194912310021", "should be X but is 1"),
        (_id_with_check("99010519491231002"), "not a valid province code"),
        (_id_with_check("16010519491231002"), "not a valid province code"),
        (_id_with_check("11010519990230001"), "19990230, is not a real date"),
        (_id_with_check("11010519991301001"), "19991301, is not a real date"),
        (_id_with_check("11010518991231001"), "before 1900-01-01"),
    ],
)
def test_invalid_id_numbers(raw: str, fragment_en: str) -> None:
    error = _raises(normalize_id_number, raw)
    assert error.field == "id_number"
    assert fragment_en in error.message_en


def test_future_birth_date_is_rejected() -> None:
    future = dt.date.today() + dt.timedelta(days=400)
    number = _id_with_check("110105" + future.strftime("%Y%m%d") + "001")
    error = _raises(normalize_id_number, number)
    assert "future" in error.message_en
    assert "晚于今天" in error.message_zh


def test_wrong_id_check_digit_names_expected() -> None:
    error = _raises(normalize_id_number, "110105194912310025")
    assert "should be X but is 5" in error.message_en
    assert "应为 X" in error.message_zh
    assert "实际为 5" in error.message_zh


def test_id_number_birthday_and_gender() -> None:
    assert id_number_birthday(TEXTBOOK_ID) == dt.date(1949, 12, 31)
    assert id_number_gender(TEXTBOOK_ID) == "female"
    male = _id_with_check("44030519900101001")
    assert id_number_birthday(male) == dt.date(1990, 1, 1)
    assert id_number_gender(male) == "male"


def test_mask_id_number() -> None:
    assert mask_id_number("110101199003071234") == "110101********1234"
    assert mask_id_number(TEXTBOOK_ID) == "110105********002X"


@pytest.mark.parametrize("func", [id_number_birthday, id_number_gender, mask_id_number])
def test_id_helpers_refuse_malformed_input(func) -> None:
    with pytest.raises(ValueError):
        func("11010519491231")


# --------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("zhang.san@example.com", "zhang.san@example.com"),
        ("  Zhang.San@Example.COM ", "Zhang.San@example.com"),
        ("sales+vip@Dealer.CN", "sales+vip@dealer.cn"),
        ("张三@例子.中国", "张三@例子.中国"),
    ],
)
def test_valid_emails(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment_zh"),
    [
        ("", "请填写"),
        ("zhang.example.com", "缺少“@”"),
        ("zhang@example", "缺少“.”"),
        ("@example.com", "缺少用户名"),
        ("zhang@", "缺少域名"),
        ("zhang,san@example.com", "','"),
        ("zhang@exa_mple.com", "'_'"),
        ("zhang..san@example.com", "连续两个"),
        ("zhang san@example.com", "非法字符"),
        ("zhang@[192.0.2.1]", "格式不正确"),
    ],
)
def test_invalid_emails(raw: str, fragment_zh: str) -> None:
    error = _raises(normalize_email, raw)
    assert error.field == "email"
    assert fragment_zh in error.message_zh


# --------------------------------------------------------------------------------------------
# Names and search folding
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张三", "张三"),
        ("  张三  ", "张三"),
        ("Zhang   San", "Zhang San"),
        ("深圳市\t比亚迪\n汽车", "深圳市 比亚迪 汽车"),
        ("x" * 100, "x" * 100),
    ],
)
def test_valid_names(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "max_length", "fragment_en"),
    [
        ("", 100, "empty"),
        (" \t\n ", 100, "empty"),
        ("张\x00三", 100, "U+0000"),
        ("张\x1b三", 100, "U+001B"),
        ("x" * 101, 100, "at most 100 characters; this one has 101"),
        ("张三丰", 2, "at most 2 characters; this one has 3"),
    ],
)
def test_invalid_names(raw: str, max_length: int, fragment_en: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_name(raw, max_length=max_length)
    assert info.value.field == "name"
    assert info.value.message_zh
    assert fragment_en in info.value.message_en


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("粤B·12345", "粤b12345"),
        ("粤B•12345", "粤b12345"),
        ("138-1234-5678", "13812345678"),
        ("Zhang San", "zhangsan"),
        ("ＡＢＣ１２３", "abc123"),
        ("Straße", "strasse"),
        ("", ""),
    ],
)
def test_search_text(raw: str, folded: str) -> None:
    assert search_text(raw) == folded


def test_search_text_matches_plate_in_any_spelling() -> None:
    stored = search_text(normalize_plate("粤B·D12345"))
    assert search_text("粤bd 12345") == stored
    assert search_text(format_plate("粤BD12345")) == stored


# --------------------------------------------------------------------------------------------
# Every error names the field the caller chose
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "bad"),
    [
        (normalize_phone, "abc"),
        (normalize_vin, "1M8GDM9A3KP042788"),
        (normalize_plate, "粤B1234I"),
        (normalize_id_number, "110105194912310021"),
        (normalize_email, "nobody"),
        (normalize_name, ""),
    ],
)
def test_errors_carry_the_given_field_and_both_messages(func, bad: str) -> None:
    error = _raises(func, bad, field="custom_field")
    assert error.field == "custom_field"
    assert error.message_zh != error.message_en
    assert error.describe("en").startswith("custom_field: ")
    assert error.describe("zh_CN") == f"custom_field: {error.message_zh}"


@pytest.mark.parametrize(
    "func",
    [
        normalize_phone,
        normalize_vin,
        normalize_plate,
        normalize_id_number,
        normalize_email,
        normalize_name,
    ],
)
def test_none_is_reported_as_empty(func) -> None:
    error = _raises(func, None)
    assert "empty" in error.message_en
