"""Held-out evaluation sets for issue 24: text the inversion attack was never built from.

Three sets, each written as JSON lines to ``benchmarks/data/unseen/<set>.jsonl`` with fields
``id``, ``set``, ``split`` (``dev`` for tuning, ``test`` for reporting), ``text``, ``source``
(where the text came from) and, for ``records``, ``first``, ``last`` and ``full`` (the person's
names). ``MANIFEST.json`` beside them records the sources, their checksums, the seeds and the
counts. The committed files are what the benchmarks read (:func:`load_unseen`); this script only
rebuilds them.

``debian`` (400 sentences, 200 dev / 200 test)
    The first sentence of the first prose paragraph of Debian package long descriptions: Debian 12
    "bookworm" ``main``, ``i18n/Translation-en`` (the English long descriptions, fetched by
    ``apt-get update -o Acquire::Languages=en``; the Docker image turns translations off, and
    ``apt-cache dumpavail`` holds only the one-line short descriptions). Kept: 6-30 words, starts
    with a capital letter, ends with ``.``/``!``/``?``; dropped: URLs, e-mail addresses, paths,
    code characters, bullet or preformatted paragraphs, sentences with fewer than 70% plain words,
    dotted names (``Foo.Bar``, ``e.g.``), any mention of WordNet, exact and near duplicates
    (word-set Jaccard >= 0.6), one text per shared description; whitespace collapsed.
    "This package contains ..."-style boilerplate is capped at 12% of the set. Sampled with
    ``random.Random(DEBIAN_SEED)``.
``news`` (400 sentences, 200 dev / 200 test)
    Australian news articles (ABC news, 2001-02) of the Lee corpus, as shipped in the gensim wheel
    (``gensim==4.4.0``, ``gensim/test/test_data/lee_background.cor``, 300 articles, and
    ``lee.cor``, 50 articles; one article a line). Sentences split at ``.``/``!``/``?`` (titles,
    initials and abbreviations are not ends); kept: 6-35 words, balanced double quotes, starts
    with a capital letter or a quote, ends like a sentence; no duplicates; at most two sentences
    of one article. Sampled with ``random.Random(NEWS_SEED)``. gensim is not a dependency: the
    wheel is downloaded to a temporary folder and read as a zip.
``records`` (240 records, 120 dev / 120 test)
    Free-form personal records (clinical notes, support tickets, chat messages, HR notes, letters,
    bank, school, police, insurance, landlord, vet, church, club notes...) written from the 130
    hand-written frames of :data:`FRAMES`, each frame used at most twice, with ages, towns,
    conditions, dates and amounts drawn from the small lists below. Each names one person whose
    names come from the US Census 1990 lists shipped in the PyPI sdist ``names==0.3.0``
    (``names/dist.all.last``, ``dist.female.first``, ``dist.male.first``): surnames of rank
    > 2,000 and first names of rank > 500, alphabetic, minus every name in faker's ``en_US``
    person lists (the generator of the attack's ``pii`` records), minus abbreviations (``ROBT``)
    and names that are ordinary lower-case words of the Debian or Lee text (``WINNING``,
    ``SON``), each name used once,
    capitalised as a name (``MCCLOUD`` -> ``McCloud``). Drawn with ``random.Random(RECORDS_SEED)``.

Every set is split by ``random.Random(SPLIT_SEED).shuffle`` of its texts: the first half is
``dev``, the second ``test``.

Not to be used by the attack: nothing in ``inversion`` or its default attacker's corpus may be
built from Debian long descriptions, the Lee corpus or the Census name lists, or these sets are no
longer held out.

Rebuild (needs network for ``pip download`` and the apt lists; light, a few seconds)::

    apt-get update -o Acquire::Languages=en      # as root, once
    .venv/bin/python benchmarks/unseen_texts.py  # --gensim-wheel / --names-sdist to reuse files

Load::

    from benchmarks.unseen_texts import load_unseen   # or, with benchmarks/ on sys.path,
    from unseen_texts import load_unseen               # as benchmarks/inversion_unseen.py does
    rows = load_unseen("news", "test")                 # list of dicts
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import random
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "unseen"
SETS = ("debian", "news", "records")

SPLIT_SEED = 2026
DEBIAN_SEED = 2401
NEWS_SEED = 2402
RECORDS_SEED = 2403

N_DEBIAN = 400
N_NEWS = 400
N_RECORDS = 240

GENSIM = "gensim==4.4.0"
NAMES = "names==0.3.0"
APT_LISTS = "/var/lib/apt/lists"
DEBIAN_TRANSLATION = "*_debian_dists_bookworm_main_i18n_Translation-en*"
LEE_FILES = ("gensim/test/test_data/lee_background.cor", "gensim/test/test_data/lee.cor")


def load_unseen(name: str, split: str | None = "test") -> list[dict]:
    """Rows of the set ``name`` (``debian``, ``news``, ``records``) of one ``split`` (``dev``,
    ``test``; ``None`` or ``"all"`` for both), in file order."""
    if name not in SETS:
        raise ValueError(f"unknown set {name!r}: choose one of {', '.join(SETS)}")
    if split not in ("dev", "test", "all", None):
        raise ValueError(f"split must be 'dev', 'test' or 'all', got {split!r}")
    path = DATA / f"{name}.jsonl"
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [r for r in rows if split in (None, "all") or r["split"] == split]


# ---------------------------------------------------------------------------- sentences

ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "mt", "jr", "sr", "lt", "gen", "col", "capt", "sgt", "prof",
    "sen", "rep", "gov", "inc", "ltd", "co", "corp", "no", "vs", "etc", "e.g", "i.e", "eg", "ie",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx",
    "cf", "al", "fig", "ver", "v", "pty", "dept", "maj", "cmdr", "supt", "insp", "det", "const",
}  # fmt: skip
_END = re.compile(r"[.!?][\"'\u201d\u2019)]*\s+")
_WORD = re.compile(r"[A-Za-z]+(?:['\u2019-][A-Za-z]+)*")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: ends at ``.``/``!``/``?`` (with closing quotes) before a capital
    letter, digit or opening quote, but not after an abbreviation, an initial or a dotted token
    (``U.S.``, ``A.D.``)."""
    out, start = [], 0
    for m in _END.finditer(text):
        nxt = text[m.end() : m.end() + 2]
        if not nxt or not (nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in "\"'\u201c("):
            continue
        if text[m.start()] == ".":
            before = text[start : m.start()].split()
            last = before[-1].lstrip("\"'(\u201c") if before else ""
            if last.lower() in ABBREVIATIONS or (len(last) == 1 and last.isalpha()) or "." in last:
                continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def words(text: str) -> list[str]:
    return text.split()


def plain_share(text: str) -> float:
    """Share of whitespace tokens that are plain words once edge punctuation is stripped."""
    toks = words(text)
    plain = sum(bool(_WORD.fullmatch(t.strip(".,;:!?\"'()\u201c\u201d\u2019"))) for t in toks)
    return plain / max(len(toks), 1)


def word_set(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(len(a | b), 1)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------- debian

# code characters, paths, dotted names (Foo.Bar, mega.co.nz, e.g.) and the word WordNet
CODE = re.compile(r"[{}\[\]<>=_\\|$#;`~^*]|::|->|\(\)|/|@|[A-Za-z]\.[A-Za-z]|wordnet", re.I)
URL = re.compile(r"https?:|www\.|://|ftp\.", re.I)
BULLET = re.compile(r"^\s*([-*+o\u2022]|\d+[.)])\s")
BOILERPLATE = re.compile(
    r"^(This|These|It|The)\s+(package|packages|library|module|plugin|plug-in|extension|"
    r"metapackage|is|are|contains|provides|includes)\b|^(Contains|Provides|Includes)\b",
)
DEBIAN_MAX_WORDS, NEWS_MAX_WORDS, MIN_WORDS = 30, 35, 6
BOILERPLATE_CAP = 0.12
NEAR_DUP = 0.6


def read_debian_translation() -> tuple[bytes, str]:
    """The decompressed bookworm ``main`` Translation-en and the InRelease ``Date``."""
    found = sorted(glob.glob(f"{APT_LISTS}/{DEBIAN_TRANSLATION}"))
    if not found:
        sys.exit(
            "No Debian Translation-en list: run, as root, "
            "`apt-get update -o Acquire::Languages=en` first."
        )
    path = found[0]
    if path.endswith((".lz4", ".gz", ".xz", ".bz2", ".zst")):
        data = subprocess.run(
            ["/usr/lib/apt/apt-helper", "cat-file", path], check=True, capture_output=True
        ).stdout
    else:
        data = Path(path).read_bytes()
    release = Path(APT_LISTS) / "deb.debian.org_debian_dists_bookworm_InRelease"
    date = ""
    if release.exists():
        m = re.search(r"^Date: (.+)$", release.read_text(errors="replace"), re.M)
        date = m.group(1) if m else ""
    return data, date


def debian_candidates(data: bytes) -> list[tuple[str, str]]:
    """(package, first prose sentence) of each distinct long description, in file order."""
    out, seen_md5 = [], set()
    for block in data.decode("utf-8", errors="replace").split("\n\n"):
        pkg = md5 = None
        long_lines: list[str] = []
        in_desc = False
        for line in block.split("\n"):
            if line.startswith("Package: "):
                pkg = line[9:].strip()
            elif line.startswith("Description-md5: "):
                md5 = line[17:].strip()
            elif line.startswith("Description-en: "):
                in_desc = True
            elif in_desc and line.startswith(" "):
                long_lines.append(line[1:])
            else:
                in_desc = False
        if not pkg or not long_lines or md5 in seen_md5:
            continue
        seen_md5.add(md5)
        para: list[str] = []
        for line in long_lines:
            if line.strip() == ".":
                break
            para.append(line)
        if not para or any(BULLET.match(x) or x.startswith((" ", "\t")) for x in para):
            continue  # a list or preformatted text, not prose
        sentences = split_sentences(" ".join(" ".join(para).split()))
        if sentences:
            out.append((pkg, sentences[0]))
    return out


def debian_ok(text: str) -> bool:
    n = len(words(text))
    return (
        MIN_WORDS <= n <= DEBIAN_MAX_WORDS
        and text[0].isupper()
        and text[-1] in ".!?"
        and not text.endswith(("e.g.", "i.e.", "etc."))
        and not URL.search(text)
        and not CODE.search(text)
        and text.count('"') % 2 == 0
        and text.count("(") == text.count(")")
        and plain_share(text) >= 0.7
    )


def build_debian(data: bytes) -> list[dict]:
    cands = [(p, t) for p, t in debian_candidates(data) if debian_ok(t)]
    random.Random(DEBIAN_SEED).shuffle(cands)
    keep: list[tuple[str, str]] = []
    sets: list[frozenset[str]] = []
    texts: set[str] = set()
    boiler, cap = 0, int(BOILERPLATE_CAP * N_DEBIAN)
    for pkg, text in cands:
        if len(keep) == N_DEBIAN:
            break
        ws = word_set(text)
        if text.lower() in texts or any(jaccard(ws, s) >= NEAR_DUP for s in sets):
            continue
        is_boiler = bool(BOILERPLATE.search(text))
        if is_boiler and boiler >= cap:
            continue
        boiler += is_boiler
        keep.append((pkg, text))
        sets.append(ws)
        texts.add(text.lower())
    return [{"text": t, "source": f"debian:{p}"} for p, t in keep]


# ---------------------------------------------------------------------------- news


def read_lee(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as zf:
        return {name: zf.read(name) for name in LEE_FILES}


def news_ok(text: str) -> bool:
    n = len(words(text))
    first = text.lstrip("\"'\u201c")
    return (
        MIN_WORDS <= n <= NEWS_MAX_WORDS
        and bool(first)
        and (first[0].isupper() or first[0].isdigit())
        and text.rstrip("\"'\u201d\u2019")[-1:] in (".", "!", "?")
        and text.count('"') % 2 == 0
        and text.count("(") == text.count(")")
        and not URL.search(text)
        and plain_share(text) >= 0.6
    )


def build_news(files: dict[str, bytes]) -> list[dict]:
    rng = random.Random(NEWS_SEED)
    pool: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in LEE_FILES:
        stem = Path(name).name
        lines = files[name].decode("utf-8", errors="replace").splitlines()
        for i, article in enumerate(lines):
            sents = []
            for s in split_sentences(" ".join(article.split())):
                if news_ok(s) and s.lower() not in seen:
                    seen.add(s.lower())
                    sents.append(s)
            rng.shuffle(sents)
            pool.extend((f"lee:{stem}:{i}", s) for s in sents[:2])  # two of one article at most
    rng.shuffle(pool)
    return [{"text": t, "source": src} for src, t in pool[:N_NEWS]]


# ---------------------------------------------------------------------------- records

TOWNS = [
    "Bemidji", "Yreka", "Natchez", "Walla Walla", "Laramie", "Keokuk", "Paducah", "Elko",
    "Bangor", "Ithaca", "Muncie", "Tupelo", "Kingman", "Dothan", "Pocatello", "Rutland",
    "Hibbing", "Beloit", "Chillicothe", "Wenatchee", "Marquette", "Durango", "Astoria",
    "Valdosta", "Lufkin", "Ottumwa", "Klamath Falls", "Sedalia", "Hannibal", "Presque Isle",
]  # fmt: skip
CONDITIONS = [
    "type 2 diabetes", "asthma", "pneumonia", "shingles", "gout", "Lyme disease",
    "a kidney infection", "bronchitis", "migraines", "a hernia", "high blood pressure", "COPD",
    "anemia", "vertigo", "a thyroid problem", "sciatica", "depression", "celiac disease",
    "psoriasis", "a heart murmur", "epilepsy", "glaucoma",
]  # fmt: skip
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
AMOUNTS = [
    "$45.20", "$112", "$318.75", "$640", "$1,250", "$2,900", "$87.99", "$1,480", "$5,000",
    "$236.40", "$975", "$12,300", "$59", "$3,150", "$410.60",
]  # fmt: skip

# Hand-written frames: {first} {last} the person; {title} Mr/Ms; {he} {him} {his} {He} {His}
# pronouns; {age} {town} {cond} {month} {date} {amount} {digits} details.
FRAMES = [
    # clinical
    "{first} {last}, {age}, came in with chest pain that started after shovelling snow this morning.",
    "Pt {first} {last} reports three weeks of poor sleep and low mood since losing {his} job in {town}.",
    "Seen today: {first} {last}, {age} years old, follow-up for {cond}; blood pressure slightly high, meds unchanged.",
    "{last}, {first} - discharged home on {date} with a walker and a referral to physiotherapy.",
    "{title} {last} ({first}) missed two dialysis sessions this week and says the bus from {town} no longer runs.",
    "Allergic to penicillin, per {first} {last}'s daughter, who brought the medication list in a shoebox.",
    "{first} {last} was diagnosed with {cond} in {month} and has started a low-dose treatment.",
    "Telehealth call with {first} {last}: the rash on {his} forearm has faded but still itches at night.",
    "Nurse note: {first} {last} refused breakfast again and asked for {his} sister to be called.",
    "{first} {last} fell on the ice outside the pharmacy in {town} and fractured {his} left wrist.",
    "Blood sugar readings for {first} {last} have been above 250 most mornings, so the insulin dose was raised.",
    "After the knee replacement, {first} {last} walked forty feet with a frame on day two.",
    "{last}, {first}, age {age}, presents with a persistent cough and mild fever for five days.",
    "Pharmacy flagged a possible interaction between {first} {last}'s warfarin and the new antibiotic.",
    "Counselling session: {first} {last} talked about {his} brother's death and the anniversary coming up on {date}.",
    "Dental: {first} {last} needs two fillings and a crown, but wants to wait until after payday.",
    "Ambulance brought {first} {last} in after a seizure at the grocery store on Main Street in {town}.",
    "{first} {last} still smokes half a pack a day and agreed to try nicotine patches.",
    "The MRI for {first} {last} showed a small disc bulge in the lower back, nothing that needs surgery.",
    "Hearing test: {first} {last} has moderate loss in the right ear and would like to try a hearing aid.",
    # support tickets
    "Ticket from {first} {last}: the invoice for {month} was charged twice to the same card.",
    "{first} {last} can't log in after resetting {his} password and the verification email never arrives.",
    "Customer {first} {last} says the washing machine delivered on {date} leaks from the bottom.",
    "Refund of {amount} approved for {first} {last} because the order arrived with a cracked screen.",
    "Escalated: {first} {last} has called four times about the internet dropping every evening in {town}.",
    "{first} {last} wants to cancel the gym membership but was told it needs a letter sent by post.",
    "Please call back {first} {last} before noon, {he} is waiting on a replacement part for the boiler.",
    "{first} {last} reported that the app crashes whenever {he} tries to upload a photo of a receipt.",
    "Warranty claim by {first} {last} denied: the laptop shows water damage under the keyboard.",
    "{first} {last} asked why the electricity bill jumped to {amount} when nobody was living in the house.",
    # chat messages
    "hey its {first} {last}, running about ten minutes late, save me a seat near the window",
    "{first} {last} just texted that the baby arrived last night and everyone is fine",
    "Can someone cover for {first} {last} on Saturday? {He} has a family wedding in {town}.",
    "lol {first} {last} brought homemade tamales to the office again, come to the kitchen",
    "Did you hear {first} {last} is moving to {town} next month for the new job?",
    "{first} {last} lost {his} keys at the concert, if anyone finds a blue lanyard let me know",
    "reminder: {first} {last}'s birthday is on {date}, we're collecting for a cake",
    "{first} {last} says the car is fixed and {he} can drive us to the airport tomorrow",
    "omg {first} {last} won the pie contest at the county fair in {town}",
    "ask {first} {last} for the wifi password, {he} changed it again last week",
    # HR notes
    "{first} {last} was given a written warning on {date} for repeated late arrivals at the warehouse.",
    "Exit interview: {first} {last} is leaving for better pay and said the night shift was wearing {him} down.",
    "{first} {last} requested unpaid leave from {date} to care for {his} father after surgery.",
    "Promotion of {first} {last} to shift supervisor approved, with a raise of {amount} a year.",
    "{first} {last} filed a complaint about a manager making comments about {his} accent.",
    "Background check for {last}, {first} came back clean, start date set for {date}.",
    "{first} {last} has used all sick days for the year after a long bout of {cond}.",
    "Performance review: {first} {last} exceeds targets but needs to document work orders more carefully.",
    "{first} {last} will work from home on Fridays while {his} child's school is closed for repairs.",
    "Payroll error: {first} {last} was underpaid {amount} for overtime in {month}.",
    # letters
    "Dear {first} {last}, thank you for your years of service as a volunteer at the {town} library.",
    "Dear {first} {last}, we regret to inform you that your application for the apartment was not successful.",
    "To whom it may concern, {first} {last} has worked for our family as a nanny for six years and is completely trustworthy.",
    "Dear {first} {last}, your jury service has been rescheduled to {date} at the county courthouse in {town}.",
    "I am writing to recommend {first} {last}, who was the most curious student in my chemistry class.",
    "Dear {title} {last}, our records show that the library books borrowed by {first} {last} are three months overdue.",
    "With deep sympathy, we write to {first} {last} on the loss of {his} mother last spring.",
    "Dear {first} {last}, congratulations on being accepted to the nursing program starting in {month}.",
    # bank
    "{first} {last} disputed a charge of {amount} from a hotel in {town} that {he} says {he} never visited.",
    "Loan for {first} {last} approved at 6.9 percent over five years for a used pickup truck.",
    "Overdraft fee waived for {first} {last} as a one-time courtesy after a payroll delay.",
    "{first} {last} deposited {amount} in cash, which was flagged for review by the branch manager.",
    "Card ending {digits} reported stolen by {first} {last} on {date}; a new card was mailed.",
    "{first} {last} asked to add {his} grandson as a joint holder on the savings account.",
    "Mortgage payment from {first} {last} is 45 days late; a hardship plan was discussed by phone.",
    "Wire transfer of {amount} by {first} {last} to an overseas account was held pending verification.",
    "{first} {last} closed the checking account after moving to {town} to live with {his} daughter.",
    # school
    "{first} {last} was absent on {date} with a stomach bug, according to a phone call from home.",
    "{first} {last} has made great progress in reading this term and now finishes chapter books.",
    "Detention for {first} {last} after a scuffle on the school bus; parents have been notified.",
    "{first} {last} needs extra time on tests according to the learning plan agreed in {month}.",
    "Field trip form for {first} {last} is still missing, please return it by Friday.",
    "{first} {last} scored highest in the district spelling bee and will compete in {town}.",
    "Counsellor note: {first} {last} seems withdrawn since {his} parents separated over the summer.",
    "{first} {last} forgot {his} inhaler again; the nurse keeps a spare in the office.",
    # police, insurance, courts
    "Officer responded to a noise complaint at the home of {first} {last} on Elm Street just after midnight.",
    "{first} {last}, {age}, was cited for driving 58 in a 35 zone near the {town} elementary school.",
    "Insurance claim: the garage roof of {first} {last} collapsed under heavy snow on {date}.",
    "{first} {last} reported a bicycle stolen from outside the public library in {town}.",
    "Court date for {first} {last} was moved to {date} because the judge is out sick.",
    "Probation officer met {first} {last} on {date}; employment at the sawmill was verified.",
    "{first} {last} was the only witness to the collision at the corner of Fifth and Pine.",
    "Last seen wearing a red jacket, {first} {last}, {age}, left home in {town} on {date}.",
    "Caller {first} {last} says an unknown man keeps parking outside {his} house at night.",
    "Welfare check requested for {first} {last}, {age}, who has not answered the phone in three days.",
    "{first} {last} got a parking ticket outside the courthouse and plans to fight it.",
    # life events, announcements
    "Obituary: {first} {last}, {age}, of {town}, passed away peacefully surrounded by family.",
    "{first} {last} will marry {his} longtime partner at the lakeside chapel in {month}.",
    "Wedding RSVP: {first} {last} will attend with one guest and needs a vegetarian meal.",
    "Estate note: {first} {last} left the farmhouse to {his} niece and the tractor to the neighbour.",
    "Thank-you card from {first} {last} for the flowers sent after {his} surgery.",
    # housing, services
    "Tenant {first} {last} has not paid rent for {month} and the sink in unit 4 is still leaking.",
    "The landlord told {first} {last} the deposit of {amount} will be returned minus cleaning costs.",
    "Vet visit: the old beagle of {first} {last} has arthritis and was prescribed a daily chewable.",
    "{first} {last} booked two nights at the motel in {town} and asked for a room on the ground floor.",
    "Flight delayed, so {first} {last} missed the connection in Denver and slept at the gate.",
    "Voicemail from {first} {last}: the plumber can come Thursday, call back to confirm.",
    "Package for {first} {last} left with a neighbour at number 12 because nobody answered.",
    "Hotel guest {first} {last} left a wallet in room 214; it is in the front desk safe.",
    "Booking confirmed for {first} {last}: haircut and colour at 3:30 on {date}.",
    "Social worker visited {first} {last}; the apartment is clean but the fridge is nearly empty.",
    "Application for food assistance from {first} {last} was approved for a household of four.",
    "Intake form: {first} {last}, {age}, unemployed, living in {his} car since {month}.",
    # community, work, everyday
    "{first} {last} volunteers at the food bank in {town} every Tuesday and drives the van.",
    "Church bulletin: please keep {first} {last} in your prayers while {he} recovers from {cond}.",
    "{first} {last} signed up for the over-40 soccer league and will play goalkeeper.",
    "Diary: had lunch with {first} {last} today, who told me all about the divorce over soup.",
    "Neighbour {first} {last} complained that our dog barks whenever the mail carrier comes.",
    "{first} {last} applied for the bus driver position and has a clean commercial license.",
    "{first} {last} has been sober for eighteen months and now sponsors two people in the group.",
    "Adoption approved: {first} {last} will take the three-year-old tabby named Biscuit home on Saturday.",
    "{first} {last} was elected treasurer of the {town} garden club by a show of hands.",
    "Please note that {first} {last} is allergic to peanuts and cannot eat the cookies at the party.",
    "Tax preparer note: {first} {last} forgot to report {amount} in freelance income last year.",
    "{first} {last} ran the {town} half marathon in just under two hours despite a sore ankle.",
    "Our new neighbour {first} {last} plays the cello beautifully, usually around seven in the evening.",
    "{first} {last} hurt {his} back lifting feed sacks on the farm outside {town}.",
    "{first} {last} was hired as a seasonal ranger at the state park north of {town}.",
    "{first} {last} called the clinic in tears because the prescription for {cond} ran out.",
    "Hospice nurse visited {first} {last} at home; pain is controlled and {he} enjoyed the visit.",
    "{first} {last} coaches the girls' basketball team at the {town} middle school.",
    "Dating profile: {first} {last}, {age}, loves fishing, old movies, and long drives.",
    "{first} {last} crashed {his} motorbike on Route 9 and spent two nights in the hospital.",
    "{first} {last} asked the pharmacist whether the generic version of {his} pills is just as good.",
    "Scholarship of {amount} awarded to {first} {last} for the fall semester at the community college.",
    "{first} {last} rescheduled the chemotherapy session to {date} because of a fever.",
    "Club minutes: {first} {last} proposed moving the monthly meeting to the fire hall in {town}.",
    "{first} {last} works nights as a security guard and sleeps until two in the afternoon.",
    "{first} {last} was bitten by a neighbour's dog while jogging and needed four stitches.",
    "{first} {last} is behind on child support by {amount}, according to the county office.",
]


def read_census(sdist: Path) -> dict[str, bytes]:
    """The three Census 1990 lists of the ``names`` sdist (or wheel)."""
    wanted = ("names/dist.all.last", "names/dist.female.first", "names/dist.male.first")
    out: dict[str, bytes] = {}
    if zipfile.is_zipfile(sdist):
        with zipfile.ZipFile(sdist) as zf:
            for member in zf.namelist():
                for w in wanted:
                    if member.endswith(w):
                        out[w] = zf.read(member)
    else:
        with tarfile.open(sdist) as tf:
            for member in tf.getmembers():
                for w in wanted:
                    if member.name.endswith(w):
                        fh = tf.extractfile(member)
                        assert fh is not None
                        out[w] = fh.read()
    missing = set(wanted) - set(out)
    if missing:
        sys.exit(f"{sdist} lacks {sorted(missing)}")
    return out


def census(data: bytes, min_rank: int) -> list[str]:
    """Names of rank > ``min_rank``, in rank order (columns: name, freq, cumfreq, rank)."""
    out = []
    for line in data.decode("ascii").splitlines():
        parts = line.split()
        if len(parts) == 4 and int(parts[3]) > min_rank and parts[0].isalpha():
            out.append(parts[0])
    return out


def capitalise(name: str) -> str:
    name = name.capitalize()
    if name.startswith("Mc") and len(name) > 3:
        name = "Mc" + name[2:].capitalize()
    return name


def faker_names() -> set[str]:
    try:
        from faker.providers.person.en_US import Provider
    except ImportError:
        sys.exit("faker is needed to exclude its names: pip install faker")
    names = set(Provider.first_names) | set(Provider.last_names)
    return {n.upper() for n in names}


# abbreviated first names of the Census list (Robt = Robert), not names as people write them
NOT_NAMES = {"ROBT", "THOS", "CHAS", "JAS", "JNO", "GEO", "EDW", "BENJ", "SAML", "JOS", "DANL"}
# ordinary words the lower-case rule misses (checked by eye on the draw)
NOT_NAMES |= {"GRANDCHILD", "JANUARY"}


def lowercase_words(*texts: bytes) -> set[str]:
    """Words written in lower case in these texts: a name that is also an ordinary word there
    (Winning, Son, Art) is left out of the records."""
    out: set[str] = set()
    for data in texts:
        out.update(
            re.findall(r"(?<![A-Za-z'.-])[a-z]+(?![A-Za-z'-])", data.decode("utf-8", "replace"))
        )
    return {w.upper() for w in out}


def build_records(files: dict[str, bytes], ordinary: set[str]) -> list[dict]:
    rng = random.Random(RECORDS_SEED)
    banned = faker_names() | NOT_NAMES | ordinary

    def pool(key: str, rank: int) -> list[str]:
        return [n for n in census(files[key], rank) if n not in banned and 3 <= len(n) <= 12]

    lasts = pool("names/dist.all.last", 2000)
    females = pool("names/dist.female.first", 500)
    males = pool("names/dist.male.first", 500)
    slots = FRAMES + FRAMES  # each frame at most twice
    rng.shuffle(slots)
    slots = slots[:N_RECORDS]
    used: set[str] = set()
    rows = []
    for frame in slots:
        female = rng.random() < 0.5
        firsts = females if female else males
        first = rng.choice(firsts)
        while first in used:
            first = rng.choice(firsts)
        used.add(first)
        last = rng.choice(lasts)
        while last in used:
            last = rng.choice(lasts)
        used.add(last)
        first, last = capitalise(first), capitalise(last)
        month = rng.choice(MONTHS)
        he, him, his = ("she", "her", "her") if female else ("he", "him", "his")
        text = frame.format(
            first=first,
            last=last,
            title="Ms" if female else "Mr",
            he=he,
            him=him,
            his=his,
            He=he.capitalize(),
            His=his.capitalize(),
            age=rng.randint(19, 88),
            town=rng.choice(TOWNS),
            cond=rng.choice(CONDITIONS),
            month=month,
            date=f"{month} {rng.randint(1, 28)}",
            amount=rng.choice(AMOUNTS),
            digits=f"{rng.randint(0, 9999):04d}",
        )
        rows.append(
            {
                "text": text,
                "source": f"frame:{FRAMES.index(frame)}",
                "first": first,
                "last": last,
                "full": f"{first} {last}",
            }
        )
    return rows


# ---------------------------------------------------------------------------- build


def split_and_number(name: str, rows: list[dict]) -> list[dict]:
    """Seeded dev/test halves; ids in the order of the shuffle (dev first)."""
    order = list(range(len(rows)))
    random.Random(SPLIT_SEED).shuffle(order)
    half = len(rows) // 2
    out = []
    for k, i in enumerate(order):
        row = {
            "id": f"{name}-{k:04d}",
            "set": name,
            "split": "dev" if k < half else "test",
            **rows[i],
        }
        out.append(row)
    return out


def check(name: str, rows: list[dict], max_words: int) -> None:
    texts = [r["text"] for r in rows]
    if len(set(texts)) != len(texts):
        raise SystemExit(f"{name}: duplicate texts")
    for r in rows:
        n = len(words(r["text"]))
        if not MIN_WORDS <= n <= max_words:
            raise SystemExit(f"{name}: {n} words in {r['text']!r}")
        if "full" in r and not (r["first"] in r["text"] and r["last"] in r["text"]):
            raise SystemExit(f"{name}: names missing from {r['text']!r}")


def download(spec: str, folder: Path, *extra: str) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            spec,
            "--no-deps",
            "-q",
            "-d",
            str(folder),
            *extra,
        ],
        check=True,
    )
    stem = spec.split("==")[0]
    return next(p for p in sorted(folder.iterdir()) if p.name.lower().startswith(stem))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gensim-wheel", type=Path, help=f"a downloaded {GENSIM} wheel")
    parser.add_argument("--names-sdist", type=Path, help=f"a downloaded {NAMES} sdist or wheel")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.gensim_wheel or download(GENSIM, Path(tmp), "--only-binary", ":all:")
        sdist = args.names_sdist or download(NAMES, Path(tmp), "--no-binary", ":all:")
        lee = read_lee(wheel)
        census_files = read_census(sdist)
        wheel_name, sdist_name = wheel.name, sdist.name

    translation, release_date = read_debian_translation()
    built = {
        "debian": build_debian(translation),
        "news": build_news(lee),
        "records": build_records(census_files, lowercase_words(translation, *lee.values())),
    }
    limits = {"debian": DEBIAN_MAX_WORDS, "news": NEWS_MAX_WORDS, "records": 35}
    args.out.mkdir(parents=True, exist_ok=True)
    outputs = {}
    for name, rows in built.items():
        rows = split_and_number(name, rows)
        check(name, rows, limits[name])
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
        (args.out / f"{name}.jsonl").write_bytes(body)
        outputs[name] = {
            "file": f"{name}.jsonl",
            "sha256": sha256(body),
            "n": len(rows),
            "dev": sum(r["split"] == "dev" for r in rows),
            "test": sum(r["split"] == "test" for r in rows),
        }
        print(f"{name}: {outputs[name]['n']} texts ({outputs[name]['test']} test)")

    try:
        import faker

        faker_version = faker.VERSION
    except ImportError:  # pragma: no cover
        faker_version = None
    manifest = {
        "issue": 24,
        "script": "benchmarks/unseen_texts.py",
        "seeds": {
            "split": SPLIT_SEED,
            "debian": DEBIAN_SEED,
            "news": NEWS_SEED,
            "records": RECORDS_SEED,
        },
        "sources": {
            "debian": {
                "what": "Debian 12 bookworm main i18n/Translation-en (English long descriptions)",
                "release_date": release_date,
                "sha256_decompressed": sha256(translation),
                "rule": "first sentence of the first prose paragraph, 6-30 words, "
                f"boilerplate <= {BOILERPLATE_CAP:.0%}, near duplicates (Jaccard >= {NEAR_DUP}) out",
            },
            "news": {
                "what": "Lee corpus of ABC (Australian) news articles, as shipped in the gensim wheel",
                "package": GENSIM,
                "wheel": wheel_name,
                "files": {n: sha256(b) for n, b in lee.items()},
                "rule": "sentences of 6-35 words, at most two per article, no duplicates",
            },
            "records": {
                "what": "US Census 1990 name lists, as shipped in the names sdist; 130 frames "
                "written by hand in this script, each used at most twice",
                "package": NAMES,
                "sdist": sdist_name,
                "files": {n: sha256(b) for n, b in census_files.items()},
                "rule": "surname rank > 2000, first-name rank > 500, minus faker en_US names, "
                "abbreviations (Robt) and words written in lower case in the Debian or Lee text",
                "faker_excluded": faker_version,
                "frames": len(FRAMES),
            },
        },
        "outputs": outputs,
    }
    (args.out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
