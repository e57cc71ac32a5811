import numpy as np

from qa.answer.verify import Calibration, Claim, absent_share, claims, judge, numbers
from qa.records import Chunk, Hit
from qa.text import sentence_spans

TEXT = "The bridge is 850 meters long. It cost 90 million dollars. About 30,000 cars cross it daily."


def _hit(lang: str = "en", text: str = TEXT) -> Hit:
    chunk = Chunk(id="c", doc_id="d", path="/b.txt", title="Bridge", lang=lang, text=text, start=100,
                  end=100 + len(text), sentences=tuple(sentence_spans(text, 0)))
    spans = tuple(type(s)(s.start + 100, s.end + 100) for s in chunk.sentences)
    return Hit(rank=1, score=1.0, chunk=Chunk(**{**chunk.__dict__, "sentences": spans}))


def _vectors(*cosines: float) -> np.ndarray:
    return np.array([[c, np.sqrt(1 - c * c), 0.0] for c in cosines], np.float32)


CLAIM_VECTOR = np.array([1.0, 0.0, 0.0], np.float32)


def test_claims_take_markers_written_after_the_full_stop_or_in_arabic_digits():
    found = claims("The bridge is 850 m long [1]. It cost 90 million. [2][3] Cars cross it [١، ٢]. Uncited here.")
    assert found == [Claim("The bridge is 850 m long.", (1,)), Claim("It cost 90 million.", (2, 3)),
                     Claim("Cars cross it.", (1, 2)), Claim("Uncited here.", ())]


def test_numbers_are_normalised_across_digit_systems_and_separators():
    assert numbers("١٬١١٥ كم و٧٫٨٪ في 2019") == {"1115", "7.8", "2019"} == numbers("1,115 km, 7.8% in 2019")
    assert numbers("no digits") == set()


def test_a_supported_claim_is_cited_by_its_best_sentence():
    hit = _hit()
    verdict = judge(Claim("The bridge is 850 meters long.", (1,)), CLAIM_VECTOR, "en", [hit],
                    lambda h: _vectors(0.95, 0.5, 0.4), Calibration(0.9, 0.9, 0.2))
    assert verdict.reason == "" and verdict.support.hit is hit
    assert TEXT[verdict.support.span.start - 100 : verdict.support.span.end - 100] == "The bridge is 850 meters long."


def test_each_failed_check_has_its_reason():
    hit = _hit()

    def verdict(claim, cosines=(0.95, 0.5, 0.4), lang="en", shift=0.0):
        cal = Calibration(0.9, 0.9 - shift, 0.2)
        return judge(claim, CLAIM_VECTOR, lang, [hit], lambda h: _vectors(*cosines), cal).reason

    assert verdict(Claim("The bridge is 850 meters long.", ())) == "cites no passage"
    assert verdict(Claim("The bridge is 850 meters long.", (2,))) == "cites a passage that does not exist: [2]"
    assert verdict(Claim("The bridge is 950 meters long.", (1,))) == "the number 950 is not in the cited passage"
    assert verdict(Claim("The bridge is long.", (1,)), cosines=(0.85, 0.5, 0.4)) == "no cited passage supports it"
    # A changed name is a word the passage does not have (same language only).
    assert verdict(Claim("The tunnel is 850 meters long.", (1,))) == "words of it are not in the cited passage"
    # The cross-lingual shift applies to an Arabic claim over the English passage, not to an English one.
    assert verdict(Claim("طوله 850 مترا.", (1,)), cosines=(0.85, 0.5, 0.4), lang="ar", shift=0.07) == ""
    assert verdict(Claim("The bridge is 850 long.", (1,)), cosines=(0.85, 0.5, 0.4), shift=0.07) != ""


def test_absent_share_counts_stemmed_content_words():
    assert absent_share("The bridges are 850 meters long", TEXT) == 0.0
    assert absent_share("The tunnel is 850 meters long", TEXT) == 0.25  # tunnel of tunnel/850/meter/long
