"""Answer types: what kind of answer a question asks for, and which kinds a sentence holds.

Types: ``count`` (how many / كم عدد), ``quantity`` (how much, how long, a price, a share),
``date`` (when / what time / متى / في أي عام: a date, a weekday or a time of day), ``person`` (who / من),
``place`` (where / أين / في أي مدينة), ``organisation`` (which company / أي حزب). A "who" question accepts
a person or an organisation ("Who organised the forum?" → "the Moroccan Centre for Strategic Studies"). Cues are regular
expressions over the ``normalize``d text (so أ/إ/آ → ا, ة → ه, ى → ي), in both languages.
Out of scope: named-entity recognition (the cues are lexical: titles, months, weekdays, units, the names of
countries and large cities).
"""

from __future__ import annotations

import re

from ..text import normalize

_Q = {
    "date": r"\bwhen\b|\b(what|which|in what|in which)\s+(year|date|day|month|century|decade)\b|\bsince when\b"
            r"|\b(what|which|at what) time\b"
            r"|(^|\W)و?متي(\W|$)|في\s+اي\s+(عام|سنه|تاريخ|يوم|شهر|قرن|ساعه)|ما\s+(هو\s+)?تاريخ|(^|\W)اي\s+(عام|سنه|ساعه)",
    "count": r"\bhow many\b|\b(what|which) (is the )?number of\b|(^|\W)و?(كم|ما)\s+(هو\s+)?عدد",
    "quantity": r"\bhow (much|long|far|big|large|tall|high|old|heavy|deep|wide)\b"
                r"|\bwhat (is|was) the (percentage|proportion|share|area|length|distance|price|cost|amount|value|"
                r"population|size|height|dose|temperature)\b|\bwhat (percentage|proportion|share)\b"
                r"|(^|\W)و?كم\s+(تبلغ|يبلغ|بلغ|بلغت|طول|مساحه|تبعد|يبعد|سعر|ثمن|قيمه|نسبه|عمر|ارتفاع|تكلفه|يساوي)"
                r"|(^|\W)ما\s+(هي\s+|هو\s+)?(نسبه|مساحه|طول|قيمه|مقدار|حجم|سعر|الجرعه|ارتفاع|عدد سكان)",
    "person": r"\b(who|whom|whose)\b|^\W*و?من\s|^\W*و?(ما|من)\s+(هو|هي)?\s*اسم\s+(زوج|زوجه|والد|والده|ام|اب|مؤلف|مخرج"
              r"|مدرب|رئيس|قائد|مؤسس|ملك)",
    "place": r"\bwhere\b|\b(in|at|to|from) (what|which) (city|country|place|region|town|village|university|museum|"
             r"stadium|continent|province|state)\b"
             r"|\bwhat is the (capital|largest city|highest mountain|longest river)\b"
             r"|(^|\W)و?اين(\W|$)|في\s+اي\s+(مدينه|دوله|بلد|مكان|منطقه|جامعه|قاره|قريه|متحف|ملعب)|ما\s+(هي\s+)?عاصمه"
             r"|ما\s+(هو|هي)\s+(اطول|اعلي|اكبر)\s+(نهر|جبل|مدينه|بحيره)",
    "organisation": r"\b(which|what) (company|organi[sz]ation|party|club|team|agency|institution|body|group)\b"
                    r"|(^|\W)(اي|ما اسم)\s+(حزب|شركه|منظمه|نادي|فريق|الحزب|الشركه|المنظمه|النادي|الفريق|جهه)",
}
QUESTION_CUES = {k: re.compile(v) for k, v in _Q.items()}
# What each asked type accepts in a sentence.
ACCEPTS = {"date": {"date"}, "count": {"count"}, "quantity": {"quantity", "count"},
           "person": {"person", "organisation"}, "place": {"place"}, "organisation": {"organisation", "person"}}
ORDER = ("date", "count", "quantity", "place", "organisation", "person")

_MONTHS = (r"january|february|march|april|may|june|july|august|september|october|november|december|"
           r"يناير|فبراير|مارس|ابريل|مايو|يونيو|يوليو|اغسطس|سبتمبر|اكتوبر|نوفمبر|ديسمبر|كانون|شباط|اذار|نيسان|ايار|"
           r"حزيران|تموز|ايلول|تشرين|محرم|صفر|ربيع|جمادي|رجب|شعبان|رمضان|شوال|ذو القعده|ذو الحجه")
# A weekday answers "when" ("اختتمت أشغاله اليوم السبت"); الاثنين and الاحد only after يوم (also "the two", "one").
# A time of day answers "when" / "what time" too ("في السادسة صباحا", "at seven o'clock", "at 6 p.m.").
_TIMES = (r"\d{1,2}([:.]\d{2})?\s*(am|pm|a\.m|p\.m)|o'?clock|noon|midnight|صباحا|مساء|مساءا|ظهرا|عصرا|فجرا|ليلا"
          r"|الساعه\s+\S+")
_WEEKDAYS = (r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|السبت|الجمعه|الخميس|الاربعاء|الثلاثاء"
             r"|يوم\s+(الاثنين|الاحد)")
# Countries, regions and large cities, in both languages, after "in / at / from / to" (ب، في، إلى، من): where
# something is ("بمراكش"), not a name that holds a place ("منتدى مراكش للأمن"). A short list, not a gazetteer.
_PLACES_AR = ("مصر|المغرب|الجزائر|تونس|ليبيا|السودان|موريتانيا|السعوديه|اليمن|عمان|الامارات|قطر|البحرين|الكويت|العراق|"
              "سوريا|سوريه|لبنان|الاردن|فلسطين|تركيا|ايران|فرنسا|المانيا|ايطاليا|اسبانيا|بريطانيا|انجلترا|روسيا|الصين|"
              "اليابان|الهند|امريكا|الولايات المتحده|كندا|البرازيل|افريقيا|اوروبا|اسيا|الاندلس|الحجاز|الشام|القاهره|"
              "الاسكندريه|الرباط|مراكش|الدار البيضاء|فاس|طنجه|وهران|طرابلس|الخرطوم|الرياض|جده|مكه|المدينه المنوره|دبي|"
              "ابوظبي|الدوحه|المنامه|مسقط|صنعاء|عدن|بغداد|البصره|الموصل|دمشق|حلب|بيروت|القدس|غزه|اسطنبول|انقره|طهران|"
              "باريس|لندن|برلين|روما|مدريد|موسكو|واشنطن|نيويورك|بكين|طوكيو")
_PLACES_EN = ("egypt|morocco|algeria|tunisia|libya|sudan|mauritania|saudi arabia|yemen|oman|emirates|qatar|bahrain|"
              "kuwait|iraq|syria|lebanon|jordan|palestine|turkey|iran|france|germany|italy|spain|britain|england|"
              "russia|china|japan|india|america|united states|canada|brazil|africa|europe|asia|andalusia|cairo|"
              "alexandria|rabat|marrakech|marrakesh|casablanca|fez|tangier|algiers|tunis|tripoli|khartoum|riyadh|"
              "jeddah|mecca|medina|dubai|abu dhabi|doha|manama|muscat|sanaa|aden|baghdad|basra|mosul|damascus|aleppo|"
              "beirut|amman|jerusalem|gaza|istanbul|ankara|tehran|paris|london|berlin|rome|madrid|moscow|washington|"
              "new york|beijing|tokyo")
_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
                 r"thousand|million|billion|dozen|واحد|اثنان|اثنين|اثني|ثلاث|ثلاثه|اربع|اربعه|خمس|خمسه|ست|سته|سبع|"
                 r"سبعه|ثمان|ثماني|ثمانيه|تسع|تسعه|عشر|عشره|عشرون|عشرين|مائه|مئه|مئات|الف|الاف|مليون|ملايين|مليار")
_UNITS = (r"%|percent|per cent|km|kilomet|metre|meter|mile|kg|kilogram|tonne|ton|litre|liter|dollar|euro|pound|"
          r"\$|€|£|square|hectare|acre|degree|°|years? old|mg|gram|بالمائه|في المائه|بالمئه|كم|كيلومتر|كيلو|متر|ميل|"
          r"كغ|كيلوغرام|طن|لتر|دولار|يورو|جنيه|درهم|ريال|دينار|ليره|مربع|هكتار|درجه|مليغرام|غرام|سنتيمتر|نسمه|شخص")
# A year: 1000-2099 (a date; standing alone never a count or a quantity, here and in ``span``).
YEAR = r"1\d{3}|20\d{2}"
_S = {
    # a number that is not a year (1000-2099 standing alone): "born in 1883" counts nothing, nor does a year
    # that ends its sentence or clause ("عام 2019.", "in 1952,"): only a digit after "." or "," goes on the number
    "count": re.compile(rf"(?<![\d.,])(?!({YEAR})(?!\d|[.,]\d))\d|\b({_NUMBER_WORDS})\b"),
    "date": re.compile(rf"\b({YEAR}|\d{{1,4}}\s*(ad|bc|ce|bce|ق\.?م|هـ|ه|م))\b|\b({_MONTHS})\b"
                       rf"|\b(century|decade|قرن|القرن|عقد)\b|\b({_WEEKDAYS})\b|\b({_TIMES})(?!\w)"),
    "quantity": re.compile(rf"(\d[\d.,]*|\b({_NUMBER_WORDS})\b)\s*(\w+\s+)?({_UNITS})"),
    "person": re.compile(r"\b(بن|ابن|ابو|بنت|الملك|الرئيس|الشيخ|السلطان|الامير|الاميره|الدكتور|السيد|السيده|الخليفه|"
                         r"الوزير|المطرب|المطربه|المغني|المغنيه|الممثل|الممثله|الكاتب|الشاعر|القائد|المخرج|المدرب|"
                         r"الفنان|الفنانه|زوجته|زوجها|mr|mrs|ms|dr|king|queen|president|sheikh|sultan|prince|"
                         r"princess|caliph|emperor|minister|director|coach|singer|actor|actress|author|poet|"
                         r"wife|husband|son|daughter|father|mother)\b"),
    "place": re.compile(r"\b(مدينه|دوله|بلد|عاصمه|العاصمه|منطقه|قريه|محافظه|جزيره|نهر|جبل|قاره|اقليم|ولايه|شمال|جنوب|"
                        r"شرق|غرب|city|country|capital|region|village|province|island|river|mountain|continent|"
                        r"state|north|south|east|west|located|lies|born in)\b"
                        rf"|(^|\W)[وف]?(ب|في\s+|الي\s+|من\s+)({_PLACES_AR})(\W|$)|\b(in|at|near|from|to)\s+({_PLACES_EN})\b"),
    "organisation": re.compile(r"\b(المركز|مركز|منظمه|الاتحاد|اتحاد|الفيدراليه|الجمعيه|جمعيه|الشركه|شركه|الحزب|حزب|"
                               r"النادي|نادي|جامعه|الجامعه|وزاره|مجلس|الهيئه|المعهد|مؤسسه|الرابطه|اللجنه|company|"
                               r"organi[sz]ation|federation|centre|center|party|club|association|council|ministry|"
                               r"bank|institute|league|union|agency|committee|foundation|university)\b"),
}
# Two capitalised words in a row (not at the start): a name in English text.
_NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+(?: [A-Z][a-z.]+)+")


def question_type(question: str) -> str:
    """The answer type a question asks for, or ``other`` (what / why / how questions)."""
    text = normalize(question)
    for kind in ORDER:
        if QUESTION_CUES[kind].search(text):
            return kind
    return "other"


def sentence_types(sentence: str) -> frozenset[str]:
    """The answer types a sentence holds some cue of."""
    text = normalize(sentence)
    kinds = {k for k, pattern in _S.items() if pattern.search(text)}
    if _NAME.search(sentence):
        kinds.add("person")
    return frozenset(kinds)


def matches(asked: str, present: frozenset[str]) -> bool:
    return asked != "other" and bool(ACCEPTS[asked] & present)

