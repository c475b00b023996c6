"""NHS number check (Modulus 11), per the NHS Data Dictionary."""

from __future__ import annotations


def normalise_nhs_number(value: str) -> str:
    return "".join(ch for ch in value if not ch.isspace() and ch != "-")


def nhs_number_is_valid(value: str) -> bool:
    digits = normalise_nhs_number(value)
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])
