"""PII redaction: e-mails, phones, cards, orders and resident numbers out; dates and prices in."""

from __future__ import annotations

import pandas as pd
import pytest

from cxml.data.synth import make_comments, make_tickets
from cxml.text.redact import KINDS, luhn_valid, redact, redact_many


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at jane.doe+cx@example.co.uk!", "mail me at [email]!"),
        ("Call 010-1234-5678 tomorrow", "Call [phone] tomorrow"),
        ("or 01012345678", "or [phone]"),
        ("reach me on +82 10 1234 5678.", "reach me on [phone]."),
        ("+1 (555) 123-4567 or (555) 123-4567", "[phone] or [phone]"),
        ("my cell is 555-123-4567", "my cell is [phone]"),
        ("UK office: +44 20 7946 0958, 020 7946 0958", "UK office: [phone], [phone]"),
        ("Seoul office 02-123-4567", "Seoul office [phone]"),
        ("card 4111 1111 1111 1111 was charged", "card [card] was charged"),
        ("4111-1111-1111-1111 / 4111111111111111", "[card] / [card]"),
        ("amex 3782 822463 10005", "amex [card]"),
        ("order 1234567 is late", "order [order] is late"),
        ("my order #12345678 never came", "my order #[order] never came"),
        (
            "Order No. AB-123456 and invoice: INV-2024-0042",
            "Order No. [order] and invoice: [order]",
        ),
        ("see #98765432", "see [order]"),
        ("tracking number 1Z999AA10123456784", "tracking number [order]"),
        ("주문번호 20240101-123456 배송이 안 와요", "주문번호 [order] 배송이 안 와요"),
        ("주문번호는 2024010112345입니다", "주문번호는 [order]입니다"),
        (
            "주문 번호: 20240101-123456, 운송장 번호 123456789012",
            "주문 번호: [order], 운송장 번호 [order]",
        ),
        ("연락처 010-9876-5432, 이메일 hong.gildong@naver.com", "연락처 [phone], 이메일 [email]"),
        ("주민번호 900101-1234567 적었어요", "주민번호 [rrn] 적었어요"),
        ("카드번호 4111 1111 1111 1111로 결제", "카드번호 [card]로 결제"),
    ],
)
def test_personal_data_becomes_typed_placeholders(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Paid $1,299.00 on 2024-01-15 at 10:30, rated 4/5",
        "10/10 would buy again, arrived in 3-5 days (48 hours late)",
        "dates 15.01.2024, 01/15/2024, 2024.01.15 and 2024/01/15 at 14:05:30",
        "1,234,567 won, €12.99, 4.5 stars, version 2.3.1, 24/7 support, #1 seller",
        "ordered 12 items, order 2 of 3, the 2024 model, 1-5 scale, 100 200 300",
        "3만 원 결제했는데 2024년 1월 15일 오후 3시에 받았어요. 별점 5점 만점에 2점",
        "15,000원 할인, 2024-01-15 14:00 도착, 평점 4.5, 사이즈 270mm",
    ],
)
def test_dates_prices_times_and_ratings_stay(text: str) -> None:
    assert redact(text) == text


def test_luhn_tells_cards_from_other_long_numbers() -> None:
    assert luhn_valid("4111 1111 1111 1111")
    assert not luhn_valid("4111 1111 1111 1112")
    assert redact("ref 4111 1111 1111 1112") == "ref 4111 1111 1111 1112"
    # a 13-digit order id that passes Luhn stays an order: '#' and the keyword say so
    assert luhn_valid("1234567890128")
    assert redact("order #1234567890128") == "order #[order]"


def test_kinds_choose_what_is_redacted() -> None:
    text = "주민번호 900101-1234567, a@b.com"
    assert (
        redact(text, kinds=[k for k in KINDS if k != "rrn"]) == "주민번호 900101-1234567, [email]"
    )
    with pytest.raises(ValueError, match="kinds must be among"):
        redact(text, kinds=["address"])


def test_redact_many_matches_redact_and_keeps_index_and_missing() -> None:
    texts = pd.Series(["call 010-1234-5678", None, "order #12345678 via x@y.org"], index=[7, 3, 9])
    out = redact_many(texts)
    assert list(out.index) == [7, 3, 9]
    assert out[7] == "call [phone]" and out[9] == "order #[order] via [email]"
    assert pd.isna(out[3])
    assert redact_many(["a@b.com"]).tolist() == ["[email]"]


def test_generated_comments_are_untouched_and_ticket_orders_redacted() -> None:
    comments = make_comments(3000, lang="mixed", seed=4)["text"]
    assert redact_many(comments).equals(comments.astype(object))
    tickets = make_tickets(1500, lang="mixed", seed=4)["text"]
    redacted = redact_many(tickets)
    assert redacted.str.contains("[order]", regex=False).sum() > 100
    assert not redacted.str.contains(r"\d{5,}").any()
