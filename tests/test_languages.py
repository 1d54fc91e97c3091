"""Any language: detection, the lang contract, which encoder covers what, unseen-language notes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from cxml.comments import ZeroShotThemeClassifier
from cxml.config import SentimentConfig
from cxml.contracts.fields import COMMENTS, TICKETS
from cxml.contracts.languages import LANG_CODES, lang_code
from cxml.data import TableReader, write_table
from cxml.data.synth import make_comments, make_tickets
from cxml.monitoring.profile import ReferenceProfile, category_part
from cxml.scoring import analyze_comments_file
from cxml.scoring.api import Comment, Ticket
from cxml.scoring.frames import analyze_comments
from cxml.scoring.languages import unseen_lang_notes
from cxml.text.encoders import ENCODER_LANGS, encode, pick_encoder
from cxml.text.lang import detect_lang
from cxml.tracking.loader import LoadedModel
from cxml.training.sentiment import train_sentiment

DEFAULT = Path(__file__).resolve().parents[1] / "configs" / "taxonomy" / "cx_default.yaml"

#: Hand-written customer comments, two per language (not from any data set).
WRITTEN = {
    "de": [
        "Die Lieferung kam drei Tage zu spät.",
        "Ich warte immer noch auf meine Rückerstattung.",
    ],
    "es": ["El pedido llegó tarde y nadie respondió.", "La atención al cliente fue excelente."],
    "fr": ["La livraison avait trois jours de retard.", "J'attends toujours mon remboursement."],
    "it": [
        "La consegna è arrivata con tre giorni di ritardo.",
        "Sto ancora aspettando il rimborso.",
    ],
    "pt": ["A entrega atrasou três dias.", "Ainda estou esperando o meu reembolso."],
    "nl": ["De bezorging was drie dagen te laat.", "Ik wacht nog steeds op mijn terugbetaling."],
    "pl": ["Dostawa spóźniła się o trzy dni.", "Obsługa klienta była bardzo miła."],
    "tr": ["Teslimat üç gün gecikti.", "Müşteri hizmetleri çok yardımcı oldu."],
    "sv": ["Jag väntar fortfarande på min återbetalning.", "Kundtjänsten var mycket trevlig."],
    "ru": ["Доставка опоздала на три дня.", "Служба поддержки была очень вежливой."],
    "ja": ["配送が三日も遅れました。", "カスタマーサービスはとても親切でした。"],
    "zh": ["快递晚了三天才到。", "客服态度非常好。"],
    "ar": ["تأخر التوصيل ثلاثة أيام.", "خدمة العملاء كانت ممتازة."],
    "th": ["การจัดส่งล่าช้าไปสามวัน", "บริการลูกค้าดีมาก"],
    "ko": ["배송이 사흘이나 늦었어요.", "앱 login이 계속 안 돼요"],
    # short or typo-ridden English stays English, as before
    "en": ["Nice", "no comment", "Notihng to add.", "Ok. Hope that helps.", "Terrible"],
}


def test_hand_written_comments_in_sixteen_languages_are_detected() -> None:
    texts = [t for group in WRITTEN.values() for t in group]
    expected = [lang for lang, group in WRITTEN.items() for _ in group]
    assert detect_lang(texts).tolist() == expected
    assert detect_lang(["10/10", "👍👍", "", None]).tolist() == ["und"] * 4  # type: ignore[list-item]


@pytest.mark.parametrize("lang", ["en", "ko", "mixed"])
def test_generated_english_and_korean_keep_their_language(lang: str) -> None:
    comments = make_comments(1500, lang=lang, seed=21)  # type: ignore[arg-type]
    tickets = make_tickets(300, lang=lang, seed=22)  # type: ignore[arg-type]
    for frame in (comments, tickets.dropna(subset=["text"])):
        letters = frame["text"].str.contains(r"[^\W\d_]").to_numpy()
        found = detect_lang(frame["text"])
        np.testing.assert_array_equal(found[letters], frame["lang"].to_numpy()[letters])
        assert set(found[~letters]) <= {"und"}  # "10/10." has no letters: no language


def test_the_lang_field_accepts_any_iso_code_in_files_and_requests() -> None:
    assert COMMENTS.field("lang").choices == TICKETS.field("lang").choices == LANG_CODES
    assert len(LANG_CODES) == 184 and {"de", "ja", "und"} <= set(LANG_CODES)
    given = ["de", "PT-BR", "zh_TW", "Korean", "und", "xx", None, "deutsch"]
    assert [lang_code(v) if v else None for v in given] == [
        "de", "pt", "zh", "ko", "und", None, None, None
    ]  # fmt: skip
    frame = pd.DataFrame({"text": ["Hallo, alles gut", "배송 문의", "Bonjour", "Hi"]})
    frame["lang"] = ["de-AT", None, "fr", "klingon"]
    write_table(frame, "in.csv")
    chunks = list(TableReader("in.csv", COMMENTS))
    good, rejected = (pd.concat(part) for part in zip(*chunks, strict=True))
    assert good["lang"].tolist() == ["de", "ko", "fr"]
    assert rejected["_reason"].tolist() == [
        "lang: unknown language 'klingon' (expected an ISO 639-1 code, e.g. en, de)"
    ]
    assert Comment(text="Gut", lang="de").lang == "de"
    assert Comment(text="Bom", lang="pt-BR").lang == "pt"
    ticket = {"ticket_id": "t", "created_at": "2026-01-01T00:00:00Z", "lang": "ES"}
    assert Ticket.model_validate(ticket).lang == "es"
    with pytest.raises(ValidationError, match="unknown language 'xx'"):
        Comment(text="x", lang="xx")


def test_encoder_language_table_routes_to_the_multilingual_encoder() -> None:
    assert {"en", "ko", "de", "ja", "zh"} <= ENCODER_LANGS["use"]
    assert len(ENCODER_LANGS["use"]) == 15  # 16 in the package's list: zh and zh-TW are one code
    assert pick_encoder("minilm", ["en", "und"]) == "minilm"
    assert pick_encoder("minilm", ["en", "de"]) == "use"
    assert pick_encoder("minilm", ["en", "sw"]) == "minilm"  # neither covers Swahili
    assert pick_encoder("/some/model/folder", ["de"]) == "/some/model/folder"
    # a joined encoder reads what every part reads: English only here, Korean goes to use
    assert pick_encoder("use+minilm", ["en"]) == "use+minilm"
    assert pick_encoder("use+minilm", ["en", "ko"]) == "use"


def test_joined_encoder_is_the_parts_side_by_side_with_unit_length() -> None:
    texts = ["the parcel came late", "the agent was rude", "late delivery again"]
    joined = encode(texts, "use+minilm")
    parts = [encode(texts, "use"), encode(texts, "minilm")]
    assert joined.shape == (3, sum(p.shape[1] for p in parts))
    np.testing.assert_allclose(np.linalg.norm(joined, axis=1), 1, atol=1e-5)
    # its cosine similarity is the mean of the parts'
    np.testing.assert_allclose(joined @ joined.T, sum(p @ p.T for p in parts) / 2, atol=1e-5)


def test_zero_shot_taxonomy_reads_comments_in_languages_it_has_no_examples_for() -> None:
    model = ZeroShotThemeClassifier(taxonomy=str(DEFAULT)).fit()  # examples in en and ko only
    written = {
        "Das Paket kam zwei Wochen zu spät.": "delivery",
        "Ich warte seit einem Monat auf meine Rückerstattung.": "returns_refunds",
        "El paquete llegó con una semana de retraso.": "delivery",
        "El agente de atención al cliente fue muy amable.": "staff_service",
        "アプリがログインのたびに落ちます。": "website_app",
        "返金がまだ届いていません。": "returns_refunds",
        "Le colis est arrivé avec deux semaines de retard.": "delivery",
    }
    frame = model.predict_frame(list(written))
    for theme, themes, scores in zip(
        written.values(), frame["themes"], frame["theme_scores"], strict=True
    ):
        assert max(scores, key=scores.get) == theme and theme in themes


def _model_with_profile(folder: Path, langs: list[str | None]) -> LoadedModel:
    profile = ReferenceProfile(
        task="sentiment",
        rows=len(langs),
        created="2026-01-01T00:00:00+00:00",
        categories={"lang": category_part(langs)},
        numbers={},
        predictions={},
        vocabulary=[],
        oov={},
        performance={},
        policy=None,
        expected_roc_auc=None,
    )
    profile.save(folder / "artifacts" / "reference_profile.json")
    (folder / "MLmodel").write_text("flavors: {}\n")  # a model folder, as far as the loader cares
    return LoadedModel(uri=str(folder), name="m", version="1", task="sentiment", pyfunc=None)


def test_unseen_languages_are_counted_in_a_note(tmp_path: Path) -> None:
    model = _model_with_profile(tmp_path / "m", ["en"] * 6 + ["ko"] * 3 + [None])
    counts = {"en": 50, "ko": 9, "de": 4, "fr": 7, "und": 2}
    (note,) = unseen_lang_notes(counts, [model])
    assert note == (
        "m/1 saw only en, ko in training: 11 rows in other languages (fr 7, de 4) got answers "
        "it cannot vouch for (see the lang column)"
    )
    assert unseen_lang_notes({"en": 3, "und": 1}, [model]) == []
    folded = _model_with_profile(tmp_path / "f", [f"l{i}" for i in range(40)])  # "(other)"
    assert unseen_lang_notes(counts, [folded]) == []


@pytest.mark.slow
def test_batch_and_python_api_flag_an_english_model_scoring_german(tmp_path: Path) -> None:
    write_table(make_comments(240, lang="en", seed=3), "train.jsonl")
    train_sentiment(SentimentConfig(), data="train.jsonl")
    new = make_comments(40, lang="en", seed=4)[["id", "text"]]
    german = pd.DataFrame({"id": ["g1", "g2"], "text": WRITTEN["de"]})
    write_table(pd.concat([new, german]), "new.csv")
    result = analyze_comments_file("new.csv", "scored.csv", models=["models:/cxml-sentiment/1"])
    assert len(result.notes) == 1
    assert re.search(
        r"saw only en in training: 2 rows in other languages \(de 2\)", result.notes[0]
    )
    scored = pd.read_csv("scored.csv")
    assert scored.loc[scored["id"].isin(["g1", "g2"]), "lang"].tolist() == ["de", "de"]
    with pytest.warns(UserWarning, match="saw only en in training"):
        frame = analyze_comments(pd.concat([new, german]), models=["models:/cxml-sentiment/1"])
    assert frame.attrs["notes"] == result.notes
