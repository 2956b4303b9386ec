"""Whether a retro item is a problem or an appreciation (praise), from its column and text.

Retro formats carry praise: "went well", *glad*, *liked*, *continue*. Appreciation is kept
and shown, but never diagnosed, never suggested as a recurrence of a problem and never
counted as a raising of one. Problems are the default: praise is read only from a column
that names it or from clear wording without a complaint in it, because a problem taken for
praise would vanish from the dashboard, while praise taken for a problem is one key away
from being corrected on the board. Pure, no Django.
"""

from __future__ import annotations

import re
from typing import Final, Literal

ItemType = Literal["problem", "appreciation"]
PROBLEM: Final = "problem"
APPRECIATION: Final = "appreciation"
ITEM_TYPES: Final = (PROBLEM, APPRECIATION)

# Column names of common retro formats (lower case, words only).
_PRAISE_COLUMNS: Final = re.compile(
    r"\b(?:went well|what went well|well|glad|liked?|likes|continue|keep|keep doing|kudos|"
    r"appreciat\w*|thanks|shout ?outs?|wins?|positives?|good|strengths?|celebrat\w*|"
    r"happy|proud|loved?|successes|worked|what worked|roses?)\b"
)
_PROBLEM_COLUMNS: Final = re.compile(
    r"\b(?:mad|sad|stop|lacked|lack|longed for|went wrong|wrong|improv\w*|"
    r"problems?|issues?|bad|less well|didn'?t go well|could be better|challenges?|"
    r"frustrat\w*|risks?|blockers?|puzzl\w*|concerns?|what didn'?t|didn'?t work|delta|"
    r"change|thorns?|pain points?|went poorly|struggles?|obstacles?|impediments?|"
    r"differently)\b"
)
# A column that negates its praise word, or wishes for better, names problems: "what
# didn't we do so well", "what did not work", "not so good", "what could have gone better",
# "what should we do better" (but "what should we keep doing well" is praise).
_NEGATED_PRAISE_COLUMNS: Final = re.compile(
    r"\b(?:didn'?t|did not|not)(?: [a-z']+){0,4}? (?:well|good|great|smooth\w*|work\w*)\b"
    r"|\b(?:could|should|would)(?: [a-z']+){0,4}? better\b"
)

# Wording that praises: a thank-you, a win, something that worked.
_PRAISE: Final = re.compile(
    r"^\s*(?:kudos|thanks|thank you|shout[- ]?out|props|celebrat\w*|congrat\w*|hooray|yay)\b"
    r"|\b(?:worked (?:really |very |so |quite )?well|went (?:really |very |so |quite )?"
    r"(?:well|smoothly)|great (?:job|work|collaboration|teamwork)|well done|nice work|"
    r"good job|thanks to|thank you|kudos|shout[- ]?out|big win|was (?:a )?(?:huge |big )?"
    r"success|successful(?:ly)?|smooth(?:ly)?|on time|zero (?:\w+ )?(?:incidents?|bugs?|"
    r"defects?|outages?)|no (?:\w+ )?(?:incidents?|outages?|regressions?)|proud of|"
    r"(?:really |very )?(?:helpful|appreciated)|loved|enjoyed|nailed)\b",
    re.IGNORECASE,
)
# Wording that complains, which praise does not contain.
_COMPLAINT: Final = re.compile(
    r"\b(?:not|no longer|never|didn'?t|doesn'?t|don'?t|isn'?t|wasn'?t|weren'?t|won'?t|"
    r"can'?t|cannot|couldn'?t|still|again|broken?|breaks|slow|late|delay\w*|fail\w*|"
    r"flaky|block\w*|stuck|lack\w*|missing|problem\w*|issues?|bugs?|pain\w*|hard|"
    r"difficult|confus\w*|unclear|too (?:many|much|long)|nobody|no one|worse|outage\w*|"
    r"incidents?|but|however|although|except|unless|without)\b",
    re.IGNORECASE,
)
# Positive words and achievements: praise only where the item neither complains, nor wishes
# or asks for something ("it would be great to...", "we need better..."), nor names harm.
# Comparatives ("better alerting", "easier onboarding") are as often wishes: not here.
_POSITIVE: Final = re.compile(
    r"\b(?:awesome|fantastic|amazing|excellent|great|good|impress(?:ed|ive)|stepped up|"
    r"above and beyond|useful|valuable|beneficial|liked?|loved?|fun|promptly|swiftly|"
    r"quickly|(?<!as )well|successfully|success|managed to|"
    r"as planned|on schedule|on track|got (?:[\w.]+ ){0,4}?(?:out|done|merged|working)|"
    r"released|shipped|launched|completed|achieved|implemented|resolved|solved|helped|"
    r"helpful|proved)\b",
    re.IGNORECASE,
)
_WISH_OR_HARM: Final = re.compile(
    r"\b(?:should|could|would|will|need\w*|must|let'?s|consider|maybe|perhaps|wish|hope|"
    r"how (?:can|do|could|should) we|more|less|try|what if|want|important|once|if|no|low|"
    r"outdated|harder|urgent|nothing|only|too|instead|yet|poor\w*|bad|terrible|awful|"
    r"mess\w*|chao\w*|rushed|overload\w*|burn\w*|stress\w*|tired|wast\w*|risk\w*|"
    r"concern\w*|frustrat\w*|annoy\w*|crash\w*|(?<!-)down|errors?|wrong|mistakes?|regress\w*|"
    r"unstable|overtime|closed)\b|\?",
    re.IGNORECASE,
)
# What an item concedes ("Despite the delays, the release shipped", "shipped in spite of
# the outage") is not what it says: the concession runs to the next punctuation.
_CONCEDED: Final = re.compile(r"\b(?:despite|in spite of|regardless of)\b[^,.!?;:]*", re.I)
_ZERO_COUNT: Final = re.compile(
    r"\b(?:zero|no) (?:\w+ )?(?:incidents?|bugs?|defects?|outages?|regressions?)\b",
    re.IGNORECASE,
)


def _straight(text: str) -> str:
    """Typographic apostrophes as straight ones ("didn\u2019t" is "didn't" to the rules)."""
    return text.replace("\u2019", "'")


def column_type(column: str | None) -> ItemType | None:
    """The type a column name says, or None when it says neither (or both)."""
    if not column:
        return None
    name = " ".join(re.findall(r"[a-z']+", _straight(column).lower()))
    if _NEGATED_PRAISE_COLUMNS.search(name):
        return PROBLEM
    praise, problem = bool(_PRAISE_COLUMNS.search(name)), bool(_PROBLEM_COLUMNS.search(name))
    if praise and not problem:
        return APPRECIATION
    if problem and not praise:
        return PROBLEM
    return None


def infer_item_type(text: str, column: str | None = None) -> ItemType:
    """The item's type: its column's when the column says one, else its wording's."""
    from_column = column_type(column)
    if from_column is not None:
        return from_column
    text = _straight(text)
    # "zero incidents" praises; other complaint words ("still slow", "but") make it a problem,
    # unless the item only concedes them ("Despite the delays, ...").
    remaining = _ZERO_COUNT.sub(" ", _CONCEDED.sub(" ", text))
    if _COMPLAINT.search(remaining):
        return PROBLEM
    if _PRAISE.search(text):
        return APPRECIATION
    if _POSITIVE.search(text) and not _WISH_OR_HARM.search(remaining):
        return APPRECIATION
    return PROBLEM
