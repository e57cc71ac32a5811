from qa.answer.span import locate


def _short(question, asked, sentence, offset=100):
    found = locate(question, asked, sentence, offset)
    return None if found is None else sentence[found[0] - offset : found[1] - offset]


def test_counts_quantities_and_dates_are_located_in_both_languages():
    assert _short("How many participants?", "count", "More than 150 participants attended the forum.") == \
        "150 participants"
    assert _short("كم عدد المشاركين؟", "count", "وعرف هذا المنتدى حضور أزيد من 150 مشارك رفيع المستوى.") == "150 مشارك"
    assert _short("How long is the bridge?", "quantity", "The bridge is 850 meters long.") == "850 meters"
    assert _short("When was she born?", "date", "Sherine (born 8 October 1980) is a singer.") == "8 October 1980"
    assert _short("متى بدأت الحرب؟", "date", "بدأت الحرب عام 1939 في أوروبا.") == "1939"


def test_names_in_english_and_nothing_where_it_would_be_a_guess():
    chaired = "The cooperative is chaired by Amina Benali."
    assert _short("Who chairs the cooperative?", "person", chaired) == "Amina Benali"
    # two numbers: which one is a guess
    assert _short("How long is the border?", "quantity", "It shares 265 km with one and 1,115 km with another.") is None
    # the number the question already gives is not the answer
    assert _short("How many goals in the 2014 final?", "count", "The 2014 final ended with 1 goal.") == "1 goal"
    assert _short("What is the slogan?", "other", "The slogan was 150 words long.") is None
    assert _short("من نظم المنتدى؟", "person", "نظمه المركز المغربي للدراسات.") is None  # no Arabic names



def test_a_year_standing_alone_is_no_count_or_quantity():
    # "كم عدد الكتب في المكتبة؟": the opening-year sentence, cited second, had "2019" bolded as the number of books
    assert _short("كم عدد الكتب في المكتبة؟", "count", "افتتحت مكتبة النور العامة في وسط المدينة عام 2019.") is None
    assert _short("How long is the bridge?", "quantity", "The bridge, opened in 2001, is 850 meters long.") == \
        "850 meters"
    assert _short("How many books?", "count", "It held 1,952 books in 2019.") == "1,952 books"
