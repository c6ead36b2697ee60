"""Normalisation and validation of the identifiers a dealership records.

Every ``normalize_*`` function takes the raw text a person typed, strips surrounding whitespace
and returns the one canonical spelling that is stored and compared, or raises
:class:`~showroom.errors.ValidationError` naming the field and saying, in Chinese and in English,
exactly what is wrong. The canonical spelling matters: duplicate detection and search compare
stored values, so "138-1234-5678" and "+86 138 1234 5678" must end up as the same string.

The helpers that work on already-normalised values (``format_*``, ``mask_*``, ``*_search_key``,
``id_number_birthday``...) raise :class:`ValueError` on malformed input, because reaching them
with an unvalidated value is a programming error, not a user's typo.

Nothing here touches Qt, the network or DNS, so it is safe to call from any layer and in tests.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from showroom.errors import ValidationError

__all__ = [
    "format_phone",
    "format_plate",
    "id_check_digit",
    "id_number_birthday",
    "id_number_gender",
    "mask_id_number",
    "mask_phone",
    "normalize_email",
    "normalize_id_number",
    "normalize_name",
    "normalize_phone",
    "normalize_plate",
    "normalize_vin",
    "phone_search_key",
    "search_text",
    "vin_check_digit",
]

_ASCII_DIGITS = frozenset("0123456789")
# Separators people put inside plates; search keys drop the same ones so a query typed either
# way finds the record.
_SEPARATORS = "·•-"
_WHITESPACE_RE = re.compile(r"\s+")


def _text(value: object) -> str:
    # Forms hand us None for an untouched field; treat it like an empty string so the user gets
    # the "required" message rather than a crash.
    return "" if value is None else str(value)


def _folded(value: object) -> str:
    # Chinese input methods easily produce full-width digits and letters ("１３８", "ＶＩＮ");
    # NFKC turns them into ASCII so they are judged like what the user meant.
    return unicodedata.normalize("NFKC", _text(value)).strip()


def _describe_char(char: str) -> str:
    # Invisible or control characters would print as nothing; show their code point instead.
    if char.isprintable() and not char.isspace():
        return f"'{char}'"
    return f"U+{ord(char):04X}"


# --------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------

_PHONE_SEPARATORS_RE = re.compile(r"[\s\-().]")
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
# E.164 caps a number at 15 digits including the country code; below 7 nothing is diallable.
_E164_MAX_DIGITS = 15
_E164_MIN_DIGITS = 7


def normalize_phone(value: str, field: str = "phone") -> str:
    """Return the E.164 form (``"+8613812345678"``) of a phone number typed by a person.

    Accepted spellings: mainland mobiles with or without spaces or dashes (``"138 1234 5678"``,
    ``"138-1234-5678"``), mainland fixed lines with their area code (``"010-62345678"``,
    ``"0755 8888 6666"``) and any international number written with a ``+`` or ``00`` prefix
    (``"+86 138 1234 5678"``, ``"0086 13812345678"``, ``"+44 20 7946 0958"``). A number without
    a country prefix is taken as Chinese: eleven digits starting with 1 must be a valid mainland
    mobile number, a number starting with 0 must be a valid number with its area code.

    Raises ValidationError(field, ...) when the value is empty, contains letters or other
    illegal characters, has the wrong number of digits, lacks an area code or country prefix,
    or is not a number that exists according to the numbering plan (phonenumbers).
    """
    text = _folded(value)
    if not text:
        raise ValidationError(field, "请填写电话号码。", "The phone number is empty.")

    compact = _PHONE_SEPARATORS_RE.sub("", text)
    if compact.startswith("+"):
        international, digits = True, compact[1:]
    elif compact.startswith("00"):
        international, digits = True, compact[2:]
    else:
        international, digits = False, compact

    for char in digits:
        if char in _ASCII_DIGITS:
            continue
        shown = _describe_char(char)
        if char == "+":
            raise ValidationError(
                field,
                "电话号码中的“+”只能写在最前面（国家代码之前）。",
                "A '+' may only appear at the start of a phone number, before the country code.",
            )
        if char.isalpha():
            raise ValidationError(
                field,
                f"电话号码不能包含字母，发现 {shown}。",
                f"A phone number cannot contain letters; found {shown}.",
            )
        raise ValidationError(
            field,
            f"电话号码含有非法字符 {shown}，只允许数字、空格、“-”和开头的“+”。",
            f"The phone number contains the illegal character {shown}; only digits, spaces, "
            "'-' and a leading '+' are allowed.",
        )
    if not digits:
        raise ValidationError(field, "电话号码中没有数字。", "The phone number contains no digits.")

    if international:
        return _international_phone(digits, field)
    return _domestic_phone(digits, field)


def _international_phone(digits: str, field: str) -> str:
    count = len(digits)
    if count > _E164_MAX_DIGITS:
        raise ValidationError(
            field,
            f"国际电话号码最多 {_E164_MAX_DIGITS} 位数字（含国家代码），实际为 {count} 位。",
            f"An international phone number has at most {_E164_MAX_DIGITS} digits including "
            f"the country code; this one has {count}.",
        )
    if count < _E164_MIN_DIGITS:
        raise ValidationError(
            field,
            f"国际电话号码太短：含国家代码只有 {count} 位数字。",
            f"The international phone number is too short: only {count} digits including "
            "the country code.",
        )
    try:
        number = phonenumbers.parse("+" + digits, None)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise ValidationError(
                field,
                f"无法识别国家代码（“+{digits[:3]}…”不是已知的国家代码）。",
                f"Unknown country code: '+{digits[:3]}...' does not start with a known one.",
            ) from None
        raise ValidationError(
            field,
            "无法识别该国际电话号码。",
            f"The international phone number cannot be read: {exc}.",
        ) from None
    if not phonenumbers.is_valid_number(number):
        cc = number.country_code
        raise ValidationError(
            field,
            f"+{cc} {phonenumbers.national_significant_number(number)} 不是该国家/地区的有效号码"
            "（位数或号段不对）。",
            f"+{cc} {phonenumbers.national_significant_number(number)} is not a valid number for "
            "that country code (wrong length or an unassigned range).",
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _domestic_phone(digits: str, field: str) -> str:
    count = len(digits)
    if digits[0] == "1":
        if count != 11:
            raise ValidationError(
                field,
                f"中国大陆手机号应为 11 位数字，实际为 {count} 位。",
                f"A mainland China mobile number has 11 digits; this one has {count}.",
            )
        number = phonenumbers.parse(digits, "CN")
        if (
            not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in _MOBILE_TYPES
        ):
            raise ValidationError(
                field,
                f"{digits} 不是有效的中国大陆手机号（号段 {digits[:3]} 不存在或未分配）。",
                f"{digits} is not a valid mainland China mobile number "
                f"(the prefix {digits[:3]} is not an assigned mobile range).",
            )
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)

    if digits[0] == "0":
        # Area code (3-4 digits with its 0) plus a 7-8 digit subscriber number: 10 to 12 digits.
        if count < 10:
            raise ValidationError(
                field,
                f"固定电话号码太短：带区号应为 10 到 12 位数字，实际为 {count} 位。",
                f"The landline number is too short: with its area code it has 10 to 12 digits; "
                f"this one has {count}.",
            )
        if count > 12:
            raise ValidationError(
                field,
                f"固定电话号码太长：带区号应为 10 到 12 位数字，实际为 {count} 位。",
                f"The landline number is too long: with its area code it has 10 to 12 digits; "
                f"this one has {count}.",
            )
        number = phonenumbers.parse(digits, "CN")
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(
                field,
                f"{digits} 不是有效的中国大陆电话号码（区号或号码位数不对）。",
                f"{digits} is not a valid mainland China phone number "
                "(unknown area code or wrong number of digits).",
            )
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)

    # A bare local number is ambiguous (which city?) and a number that starts with a country code
    # but no "+" could also be misread, so ask for the explicit form instead of guessing.
    raise ValidationError(
        field,
        "无法确定号码归属：手机号应以 1 开头，固定电话请带区号（如 010-62345678），"
        "境外号码请以 + 或 00 加国家代码开头。",
        "Cannot tell where this number belongs: mobile numbers start with 1, landlines need "
        "their area code (e.g. 010-62345678), and foreign numbers need a '+' or '00' followed "
        "by the country code.",
    )


def _parse_e164(e164: str) -> phonenumbers.PhoneNumber:
    text = _text(e164).strip()
    if not text.startswith("+"):
        raise ValueError(f"not an E.164 phone number: {e164!r}")
    try:
        return phonenumbers.parse(text, None)
    except NumberParseException as exc:
        raise ValueError(f"not an E.164 phone number: {e164!r} ({exc})") from None


def _is_mainland_mobile(number: phonenumbers.PhoneNumber) -> bool:
    return number.country_code == 86 and phonenumbers.number_type(number) in _MOBILE_TYPES


def phone_search_key(e164: str) -> str:
    """Return the digits a user would type to find this number.

    For +86 numbers this is the national significant number ("13812345678", "1062345678" for
    a Beijing landline: the area code without its trunk 0); for other countries all digits
    including the country code, without "+" ("442079460958").

    Raises ValueError if ``e164`` is not an E.164 string as returned by normalize_phone.
    """
    if e164.startswith("+86") and e164[3:].isdigit() and 9 <= len(e164) - 3 <= 12:
        # Stored numbers are E.164 already: after +86 comes the national significant number.
        # Skipping the parse matters when the search index is rebuilt for a million customers.
        return e164[3:]
    number = _parse_e164(e164)
    if number.country_code == 86:
        return phonenumbers.national_significant_number(number)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164).lstrip("+")


def format_phone(e164: str) -> str:
    """Return the display form: "138 1234 5678" for mainland mobiles, else international format.

    Other numbers, including mainland landlines, use phonenumbers' INTERNATIONAL format
    ("+44 20 7946 0958", "+86 10 6234 5678").

    Raises ValueError if ``e164`` is not an E.164 string as returned by normalize_phone.
    """
    number = _parse_e164(e164)
    if _is_mainland_mobile(number):
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def mask_phone(e164: str) -> str:
    """Return the number with its middle digits hidden, for lists and printed documents.

    Mainland mobiles become "138****8000" (first 3 and last 4 digits). Other numbers keep the
    layout of format_phone and replace every digit except the first 3 and the last 4 with "*"
    ("+44 20 7946 0958" -> "+44 2* **** 0958"); very short numbers keep fewer digits so that
    at least one is always hidden.

    Raises ValueError if ``e164`` is not an E.164 string as returned by normalize_phone.
    """
    number = _parse_e164(e164)
    if _is_mainland_mobile(number):
        nsn = phonenumbers.national_significant_number(number)
        return f"{nsn[:3]}****{nsn[-4:]}"

    shown = format_phone(e164)
    total = sum(char in _ASCII_DIGITS for char in shown)
    head = min(3, total - 1)
    tail = max(0, min(4, total - head - 1))
    masked = []
    position = 0
    for char in shown:
        if char in _ASCII_DIGITS:
            keep = position < head or position >= total - tail
            masked.append(char if keep else "*")
            position += 1
        else:
            masked.append(char)
    return "".join(masked)


# --------------------------------------------------------------------------------------------
# VIN (ISO 3779 / GB 16735)
# --------------------------------------------------------------------------------------------

_VIN_LENGTH = 17
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_CHECK_INDEX = 8
# Excluded from VINs because they are too easily confused with 1, 0 and 0.
_VIN_FORBIDDEN = frozenset("IOQ")


def vin_check_digit(vin: str) -> str:
    """Return the check digit ("0"-"9" or "X") of a 17-character VIN.

    Uses the ISO 3779 / GB 16735 weighted sum; the character at position 9 (the check digit
    itself) has weight 0 and is ignored, so any placeholder may stand there. Case-insensitive.

    Raises ValueError if ``vin`` is not 17 characters of A-H, J-N, P, R-Z and 0-9.
    """
    text = _text(vin).upper()
    if len(text) != _VIN_LENGTH:
        raise ValueError(f"a VIN has {_VIN_LENGTH} characters, got {len(text)}: {vin!r}")
    total = 0
    for index, (char, weight) in enumerate(zip(text, _VIN_WEIGHTS, strict=True)):
        if index == _VIN_CHECK_INDEX:
            continue
        if char not in _VIN_VALUES:
            raise ValueError(f"illegal VIN character {char!r} at position {index + 1}: {vin!r}")
        total += _VIN_VALUES[char] * weight
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(value: str, field: str = "vin") -> str:
    """Return the VIN in upper case with spaces removed, after checking it.

    The result has exactly 17 characters from A-H, J-N, P, R-Z and 0-9 and its 9th character
    equals the check digit computed by vin_check_digit.

    Raises ValidationError(field, ...) when the value is empty, has another length, contains
    I, O or Q or any other illegal character (position named), or when the check digit at
    position 9 is wrong (expected and found digits named).
    """
    text = _WHITESPACE_RE.sub("", _folded(value)).upper()
    if not text:
        raise ValidationError(field, "请填写车架号（VIN）。", "The VIN is empty.")
    if len(text) != _VIN_LENGTH:
        raise ValidationError(
            field,
            f"车架号（VIN）应为 {_VIN_LENGTH} 位，实际为 {len(text)} 位。",
            f"A VIN has exactly {_VIN_LENGTH} characters; this one has {len(text)}.",
        )
    for index, char in enumerate(text, start=1):
        if char in _VIN_VALUES:
            continue
        if char in _VIN_FORBIDDEN:
            raise ValidationError(
                field,
                f"车架号第 {index} 位是字母 {char}：VIN 中不允许出现 I、O、Q"
                "（易与数字 1、0 混淆），请核对是否应为数字。",
                f"Character {index} of the VIN is the letter {char}: I, O and Q are not allowed "
                "in a VIN (they look like 1 and 0); check whether it should be a digit.",
            )
        shown = _describe_char(char)
        raise ValidationError(
            field,
            f"车架号第 {index} 位 {shown} 是非法字符，只允许数字和字母（I、O、Q 除外）。",
            f"Character {index} of the VIN, {shown}, is illegal; only digits and letters "
            "other than I, O and Q are allowed.",
        )
    expected = vin_check_digit(text)
    found = text[_VIN_CHECK_INDEX]
    if found != expected:
        raise ValidationError(
            field,
            f"车架号校验位错误：第 9 位应为 {expected}，实际为 {found}，请核对是否有输错的字符。",
            f"The VIN check digit is wrong: character 9 should be {expected} but is {found}; "
            "one of the characters is probably mistyped.",
        )
    return text


# --------------------------------------------------------------------------------------------
# Licence plates (GA 36)
# --------------------------------------------------------------------------------------------

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_SUFFIXES = "学警港澳挂领试超"
_PLATE_LETTERS = frozenset("ABCDEFGHJKLMNPQRSTUVWXYZ")  # I and O look like 1 and 0
_NEV_SMALL_MARKERS = frozenset("DABCEFGHJK")
_NEV_LARGE_MARKERS = frozenset("DF")
_PLATE_STRIP_RE = re.compile(r"[\s·•\-]")


def _plate_compact(value: object) -> str:
    return _PLATE_STRIP_RE.sub("", _folded(value)).upper()


def normalize_plate(value: str, field: str = "plate") -> str:
    """Return a Chinese licence plate in compact upper-case form ("粤B12345").

    Spaces, "·", "•" and "-" are removed and letters upper-cased. Accepted forms:

    * ordinary, 7 characters: province abbreviation, issuing-authority letter, then 5 digits or
      letters (no I or O), the last of which may instead be one of 学警港澳挂领试超
      ("粤B12345", "粤B1234学");
    * small new-energy, 8 characters: province, letter, one of D A B C E F G H J K, a digit or
      letter, then 4 digits ("粤BD12345");
    * large new-energy, 8 characters: province, letter, 5 digits, then D or F ("粤B12345D").

    Raises ValidationError(field, ...) when the value is empty, does not start with a province
    abbreviation and a letter, has another length, contains I or O or another illegal
    character, or does not match any of the forms above.
    """
    plate = _plate_compact(value)
    if not plate:
        raise ValidationError(field, "请填写车牌号。", "The licence plate is empty.")

    if plate[0] not in _PROVINCES:
        shown = _describe_char(plate[0])
        raise ValidationError(
            field,
            f"车牌号第 1 位 {shown} 不是省份简称（如 京、沪、粤）。",
            f"The first character of the plate, {shown}, is not a province abbreviation "
            "(such as 京, 沪, 粤).",
        )
    if len(plate) < 2 or not ("A" <= plate[1] <= "Z"):
        shown = _describe_char(plate[1]) if len(plate) > 1 else "nothing"
        shown_zh = shown if len(plate) > 1 else "空"
        raise ValidationError(
            field,
            f"车牌号第 2 位应为发牌机关字母 A-Z，实际为 {shown_zh}。",
            f"The second character of the plate must be the issuing-authority letter A-Z; "
            f"found {shown}.",
        )
    if len(plate) not in (7, 8):
        raise ValidationError(
            field,
            f"车牌号应为 7 位（普通车牌）或 8 位（新能源车牌），实际为 {len(plate)} 位。",
            f"A plate has 7 characters (ordinary) or 8 (new-energy); this one has {len(plate)}.",
        )

    body = plate[2:]
    for index, char in enumerate(body, start=3):
        if char in _ASCII_DIGITS or char in _PLATE_LETTERS:
            continue
        if char in "IO":
            raise ValidationError(
                field,
                f"车牌号第 {index} 位是字母 {char}：车牌号码中不使用 I 和 O（易与 1、0 混淆）。",
                f"Character {index} of the plate is the letter {char}: plates never use I or O "
                "(they look like 1 and 0).",
            )
        if char in _PLATE_SUFFIXES:
            if len(plate) == 7 and index == 7:
                continue
            raise ValidationError(
                field,
                f"“{char}”只能出现在 7 位普通车牌的最后一位。",
                f"'{char}' may only be the last character of a 7-character ordinary plate.",
            )
        shown = _describe_char(char)
        raise ValidationError(
            field,
            f"车牌号第 {index} 位 {shown} 是非法字符。",
            f"Character {index} of the plate, {shown}, is not allowed in a plate.",
        )

    if len(plate) == 7:
        # Every character has already been checked against the ordinary alphabet.
        return plate

    is_small = (
        body[0] in _NEV_SMALL_MARKERS
        and (body[1] in _ASCII_DIGITS or body[1] in _PLATE_LETTERS)
        and all(char in _ASCII_DIGITS for char in body[2:])
    )
    is_large = body[-1] in _NEV_LARGE_MARKERS and all(char in _ASCII_DIGITS for char in body[:-1])
    if not (is_small or is_large):
        raise ValidationError(
            field,
            "8 位新能源车牌格式不对：小型车为第 3 位 D/A/B/C/E/F/G/H/J/K、第 4 位字母或数字、"
            "后 4 位数字（如 粤BD12345）；大型车为 5 位数字加末位 D 或 F（如 粤B12345D）。",
            "Not a valid 8-character new-energy plate: small vehicles have D/A/B/C/E/F/G/H/J/K "
            "as character 3, a letter or digit, then 4 digits (e.g. 粤BD12345); large vehicles "
            "have 5 digits followed by D or F (e.g. 粤B12345D).",
        )
    return plate


def format_plate(plate: str) -> str:
    """Return the display form with a middle dot after the authority letter ("粤B·12345").

    Accepts a normalised plate (or any spelling normalize_plate would accept); it only
    re-spaces the text and does not validate it, so a stored value always displays.
    """
    compact = _plate_compact(plate)
    if len(compact) <= 2:
        return compact
    return f"{compact[:2]}·{compact[2:]}"


# --------------------------------------------------------------------------------------------
# Resident identity card numbers (GB 11643)
# --------------------------------------------------------------------------------------------

_ID_LENGTH = 18
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_PROVINCES = frozenset(
    [
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
)
_ID_EARLIEST_BIRTH = _dt.date(1900, 1, 1)


def id_check_digit(first17: str) -> str:
    """Return the GB 11643 check character ("0"-"9" or "X") for the first 17 digits.

    Raises ValueError unless ``first17`` is exactly 17 ASCII digits.
    """
    text = _text(first17)
    if len(text) != 17 or not all(char in _ASCII_DIGITS for char in text):
        raise ValueError(f"expected the first 17 digits of an ID number, got {first17!r}")
    total = sum(int(char) * weight for char, weight in zip(text, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def normalize_id_number(value: str, field: str = "id_number") -> str:
    """Return an 18-character mainland resident ID number with a final "x" upper-cased.

    Checks, in order: 18 characters; the first 17 are digits and the last is a digit or X;
    the first two digits are a province code (11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81,
    82); digits 7-14 are a real date between 1900-01-01 and today; the last character is the
    GB 11643 check character. Spaces inside the number are ignored.

    Raises ValidationError(field, ...) naming the first failed check; a wrong check character
    message names the expected and the found character.
    """
    text = _WHITESPACE_RE.sub("", _folded(value)).upper()
    if not text:
        raise ValidationError(field, "请填写身份证号码。", "The ID number is empty.")
    if len(text) != _ID_LENGTH:
        old_card = len(text) == 15
        extra_zh = "（不支持旧式 15 位身份证，请填写 18 位号码）" if old_card else ""
        extra_en = " (old 15-digit cards are not accepted; enter the 18-digit one)"
        extra_en = extra_en if old_card else ""
        raise ValidationError(
            field,
            f"身份证号码应为 18 位，实际为 {len(text)} 位{extra_zh}。",
            f"An ID number has 18 characters; this one has {len(text)}{extra_en}.",
        )
    for index, char in enumerate(text[:17], start=1):
        if char not in _ASCII_DIGITS:
            shown = _describe_char(char)
            raise ValidationError(
                field,
                f"身份证号码第 {index} 位 {shown} 不是数字：前 17 位必须全是数字。",
                f"Character {index} of the ID number, {shown}, is not a digit; the first 17 "
                "must all be digits.",
            )
    if text[17] not in _ASCII_DIGITS and text[17] != "X":
        shown = _describe_char(text[17])
        raise ValidationError(
            field,
            f"身份证号码最后一位只能是数字或 X，实际为 {shown}。",
            f"The last character of an ID number must be a digit or X; found {shown}.",
        )

    province = int(text[:2])
    if province not in _ID_PROVINCES:
        raise ValidationError(
            field,
            f"身份证号码前两位 {text[:2]} 不是有效的省级行政区代码。",
            f"The first two digits of the ID number, {text[:2]}, are not a valid province code.",
        )

    raw_date = text[6:14]
    try:
        birthday = _dt.date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:]))
    except ValueError:
        raise ValidationError(
            field,
            f"身份证号码第 7-14 位的出生日期 {raw_date} 不存在。",
            f"The birth date in characters 7-14 of the ID number, {raw_date}, is not a real date.",
        ) from None
    if birthday < _ID_EARLIEST_BIRTH:
        raise ValidationError(
            field,
            f"身份证号码中的出生日期 {raw_date} 早于 1900 年 1 月 1 日。",
            f"The birth date in the ID number, {raw_date}, is before 1900-01-01.",
        )
    if birthday > _dt.date.today():
        raise ValidationError(
            field,
            f"身份证号码中的出生日期 {raw_date} 晚于今天。",
            f"The birth date in the ID number, {raw_date}, is in the future.",
        )

    expected = id_check_digit(text[:17])
    if text[17] != expected:
        raise ValidationError(
            field,
            f"身份证号码校验位错误：最后一位应为 {expected}，实际为 {text[17]}，"
            "请核对是否有输错的数字。",
            f"The ID number check character is wrong: the last character should be {expected} "
            f"but is {text[17]}; one of the digits is probably mistyped.",
        )
    return text


def _checked_id(id_number: str) -> str:
    text = _text(id_number).strip().upper()
    if len(text) != _ID_LENGTH or not all(char in _ASCII_DIGITS for char in text[:17]):
        raise ValueError(f"not an 18-character ID number: {id_number!r}")
    return text


def id_number_birthday(id_number: str) -> _dt.date:
    """Return the birth date encoded in characters 7-14 of a normalised ID number.

    Raises ValueError if the value is not 18 characters with 17 leading digits or the date
    does not exist.
    """
    text = _checked_id(id_number)
    return _dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))


def id_number_gender(id_number: str) -> str:
    """Return "male" or "female" from the parity of the 17th digit (odd means male).

    Raises ValueError if the value is not 18 characters with 17 leading digits.
    """
    text = _checked_id(id_number)
    return "male" if int(text[16]) % 2 == 1 else "female"


def mask_id_number(id_number: str) -> str:
    """Return the ID number with the birth date and sequence hidden: "110101********1234".

    Keeps the first 6 characters (region) and the last 4, with 8 asterisks between.
    Raises ValueError if the value is not 18 characters with 17 leading digits.
    """
    text = _checked_id(id_number)
    return f"{text[:6]}{'*' * 8}{text[-4:]}"


# --------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------

# email_validator only speaks English. These cover the mistakes people actually make, most
# specific first; anything else falls back to a Chinese sentence quoting the English detail.
_EMAIL_MESSAGES_ZH = (
    ("must have an @-sign", "邮箱地址缺少“@”符号。"),
    ("something before the @-sign", "“@”前面缺少用户名。"),
    ("something after the @-sign", "“@”后面缺少域名。"),
    ("should have a period", "“@”后面的域名不完整，缺少“.”（例如 example.com）。"),
    ("two periods in a row", "邮箱地址中不能有连续两个“.”。"),
    ("start with a period", "邮箱地址不能以“.”开头。"),
    ("period immediately before the @-sign", "“@”前面不能以“.”结尾。"),
    ("end with a period", "邮箱地址不能以“.”结尾。"),
    ("invalid characters before the @-sign", "“@”前面的用户名含有非法字符"),
    ("after the @-sign contains invalid characters", "“@”后面的域名含有非法字符"),
)
_EMAIL_BAD_CHARS_RE = re.compile(r"invalid characters[^:]*: (.+?)\.?$")


def normalize_email(value: str, field: str = "email") -> str:
    """Return the normalised e-mail address with a lower-case domain.

    Syntax is checked by email_validator without any DNS lookup (deliverability is not
    checked). Internationalised addresses are accepted and kept in Unicode ("张三@例子.中国").

    Raises ValidationError(field, ...) when the value is empty or is not a syntactically valid
    address; the message says what is wrong (missing "@", bad domain, illegal character...).
    """
    text = _text(value).strip()
    if not text:
        raise ValidationError(field, "请填写邮箱地址。", "The e-mail address is empty.")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        detail = str(exc)
        message_zh = next((zh for marker, zh in _EMAIL_MESSAGES_ZH if marker in detail), None)
        bad_chars = _EMAIL_BAD_CHARS_RE.search(detail)
        if message_zh is None:
            message_zh = f"邮箱地址格式不正确（{detail}）。"
        elif bad_chars and not message_zh.endswith("。"):
            message_zh = f"{message_zh}：{bad_chars.group(1)}。"
        elif not message_zh.endswith("。"):
            message_zh += "。"
        raise ValidationError(field, message_zh, f"Invalid e-mail address: {detail}") from None
    # email_validator already lower-cases the domain; doing it again keeps this contract even
    # if a future release stops, because duplicate detection relies on it.
    local, _, domain = result.normalized.rpartition("@")
    return f"{local}@{domain.lower()}"


# --------------------------------------------------------------------------------------------
# Names and free text
# --------------------------------------------------------------------------------------------


def normalize_name(value: str, field: str = "name", max_length: int = 100) -> str:
    """Return a person's or company's name with whitespace tidied.

    Surrounding whitespace is stripped and every internal run of whitespace (including tabs
    and line breaks) becomes one space.

    Raises ValidationError(field, ...) when the result is empty, contains a control character
    (position named) or is longer than ``max_length`` characters.
    """
    text = _WHITESPACE_RE.sub(" ", _text(value)).strip()
    if not text:
        raise ValidationError(field, "请填写名称，不能为空。", "The name is empty.")
    for index, char in enumerate(text, start=1):
        if unicodedata.category(char) == "Cc":
            raise ValidationError(
                field,
                f"名称第 {index} 个字符是不可见的控制字符 U+{ord(char):04X}，请删除。",
                f"Character {index} of the name is the control character U+{ord(char):04X}; "
                "remove it.",
            )
    if len(text) > max_length:
        raise ValidationError(
            field,
            f"名称最多 {max_length} 个字符，实际为 {len(text)} 个。",
            f"The name may have at most {max_length} characters; this one has {len(text)}.",
        )
    return text


_SEARCH_STRIP_RE = re.compile(rf"[\s{re.escape(_SEPARATORS)}]")


def search_text(value: str) -> str:
    """Return the folded form used for search keys and for the queries matched against them.

    NFKC-normalises (full-width to ASCII), case-folds, and removes whitespace and the separators
    "·", "•" and "-": "粤B·12345" -> "粤b12345", "138-1234-5678" -> "13812345678". Never raises;
    None gives "".
    """
    folded = unicodedata.normalize("NFKC", _text(value)).casefold()
    return _SEARCH_STRIP_RE.sub("", folded)
