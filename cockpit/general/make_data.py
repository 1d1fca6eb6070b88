"""Generate the general set: short everyday questions with true answers, in the chat `messages` format.

    python -m cockpit.general.make_data      # rewrites cockpit/general/data/general{,-eval}.jsonl

Written for this project (see README.md beside the data): hand-written facts, definitions and how-tos,
plus arithmetic and unit conversions computed here, so every answer is right by construction.
Deterministic (seeded): the committed files are reproducible. The eval file is a fixed, disjoint
subset drawn from every family, so a loss on it says how much of the general skill a fine-tune kept.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVAL_ROWS = 64
"""Rows held out for the general eval loss (never mixed into training)."""

FACTS = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("What is the capital of Japan?", "The capital of Japan is Tokyo."),
    ("What is the capital of Italy?", "The capital of Italy is Rome."),
    ("What is the capital of Germany?", "The capital of Germany is Berlin."),
    ("What is the capital of Spain?", "The capital of Spain is Madrid."),
    ("What is the capital of Canada?", "The capital of Canada is Ottawa."),
    ("What is the capital of Australia?", "The capital of Australia is Canberra."),
    ("What is the capital of Egypt?", "The capital of Egypt is Cairo."),
    ("What is the capital of Kenya?", "The capital of Kenya is Nairobi."),
    ("What is the capital of Brazil?", "The capital of Brazil is Brasília."),
    ("What is the capital of Norway?", "The capital of Norway is Oslo."),
    ("What is the capital of Portugal?", "The capital of Portugal is Lisbon."),
    ("What is the capital of Greece?", "The capital of Greece is Athens."),
    ("What is the capital of India?", "The capital of India is New Delhi."),
    ("What is the capital of Mexico?", "The capital of Mexico is Mexico City."),
    ("How many days are in a week?", "A week has seven days."),
    ("How many days are in a leap year?", "A leap year has 366 days."),
    ("How many hours are in a day?", "A day has 24 hours."),
    ("How many minutes are in an hour?", "An hour has 60 minutes."),
    ("How many months are in a year?", "A year has twelve months."),
    ("How many continents are there?", "There are seven continents."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("How many legs does an insect have?", "An insect has six legs."),
    ("What is the largest ocean on Earth?", "The Pacific Ocean is the largest ocean on Earth."),
    ("What is the largest planet in the solar system?", "Jupiter is the largest planet in the solar system."),
    ("Which planet is closest to the Sun?", "Mercury is the planet closest to the Sun."),
    ("Which planet is known as the Red Planet?", "Mars is known as the Red Planet."),
    ("What star is at the centre of our solar system?", "The Sun is the star at the centre of our solar system."),
    ("What gas do plants take in from the air to make food?", "Plants take in carbon dioxide."),
    ("What gas do humans need to breathe to live?", "Humans need oxygen."),
    ("At what temperature does water freeze in Celsius?", "Water freezes at 0 degrees Celsius."),
    (
        "At what temperature does water boil at sea level in Celsius?",
        "Water boils at 100 degrees Celsius at sea level.",
    ),
    ("What is the chemical formula of water?", "The chemical formula of water is H2O."),
    ("What is the chemical symbol for gold?", "The chemical symbol for gold is Au."),
    ("What is the chemical symbol for iron?", "The chemical symbol for iron is Fe."),
    ("What is the hardest natural material?", "Diamond is the hardest natural material."),
    ("Which organ pumps blood through the body?", "The heart pumps blood through the body."),
    ("How many bones are in the adult human body?", "An adult human body has 206 bones."),
    ("What is the tallest mountain above sea level?", "Mount Everest is the tallest mountain above sea level."),
    ("What is the longest river in South America?", "The Amazon is the longest river in South America."),
    ("Who wrote the play Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet."),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci painted the Mona Lisa."),
    ("Who developed the theory of relativity?", "Albert Einstein developed the theory of relativity."),
    ("In which year did humans first land on the Moon?", "Humans first landed on the Moon in 1969."),
    ("What language is mainly spoken in Brazil?", "Portuguese is the main language of Brazil."),
    ("What is the main language spoken in Argentina?", "Spanish is the main language of Argentina."),
    ("What colour do you get by mixing blue and yellow?", "Mixing blue and yellow gives green."),
    ("What colour do you get by mixing red and white?", "Mixing red and white gives pink."),
    ("What are the three primary colours of light?", "The primary colours of light are red, green and blue."),
    ("How many sides does a triangle have?", "A triangle has three sides."),
    ("How many sides does a hexagon have?", "A hexagon has six sides."),
    ("How many degrees are in a right angle?", "A right angle has 90 degrees."),
    ("How many degrees do the angles of a triangle add up to?", "The angles of a triangle add up to 180 degrees."),
    ("What is the smallest prime number?", "The smallest prime number is 2."),
    ("Is 17 a prime number?", "Yes, 17 is a prime number."),
    ("Is 21 a prime number?", "No, 21 is not prime: it is 3 times 7."),
    ("What is the freezing point of water in Fahrenheit?", "Water freezes at 32 degrees Fahrenheit."),
    ("Which animal is the largest mammal?", "The blue whale is the largest mammal."),
    ("What do bees make?", "Bees make honey and wax."),
    ("What is the opposite of hot?", "The opposite of hot is cold."),
    ("What is the opposite of early?", "The opposite of early is late."),
    ("What is the plural of mouse?", "The plural of mouse is mice."),
    ("What is the plural of child?", "The plural of child is children."),
    ("What is the past tense of go?", "The past tense of go is went."),
    ("What is the past tense of eat?", "The past tense of eat is ate."),
    ("Which month comes after March?", "April comes after March."),
    ("Which day comes after Friday?", "Saturday comes after Friday."),
    ("What is the first letter of the English alphabet?", "The first letter is A."),
    ("How many letters are in the English alphabet?", "The English alphabet has 26 letters."),
]

DEFINITIONS = [
    (
        "What is photosynthesis?",
        "Photosynthesis is how plants use sunlight, water and carbon dioxide to make sugar and release oxygen.",
    ),
    ("What is gravity?", "Gravity is the force that pulls objects with mass toward each other."),
    ("What is a noun?", "A noun is a word that names a person, place, thing or idea."),
    ("What is a verb?", "A verb is a word that describes an action or a state."),
    ("What is an adjective?", "An adjective is a word that describes a noun."),
    ("What is a prime number?", "A prime number is a whole number above 1 divisible only by 1 and itself."),
    ("What is an even number?", "An even number is a whole number that can be divided by 2 with no remainder."),
    ("What is a fraction?", "A fraction is a part of a whole, written as one number over another."),
    ("What is a percentage?", "A percentage is a number expressed as a share of 100."),
    ("What is the perimeter of a shape?", "The perimeter is the total length around the edge of a shape."),
    ("What is an atom?", "An atom is the smallest unit of a chemical element."),
    ("What is a molecule?", "A molecule is a group of atoms bonded together."),
    ("What is evaporation?", "Evaporation is when a liquid turns into a gas, such as water into vapour."),
    ("What is a mammal?", "A mammal is a warm-blooded animal that has hair and feeds its young with milk."),
    ("What is a democracy?", "A democracy is a system of government in which the people choose their leaders."),
    ("What is inflation?", "Inflation is the general rise of prices over time."),
    ("What is a budget?", "A budget is a plan for how to spend and save money."),
    ("What is a computer program?", "A computer program is a set of instructions that a computer follows."),
    ("What is an algorithm?", "An algorithm is a step-by-step procedure for solving a problem."),
    ("What is the internet?", "The internet is a worldwide network that connects computers."),
    ("What is a password?", "A password is a secret word or phrase used to prove who you are."),
    ("What is a volcano?", "A volcano is an opening in the Earth's crust where molten rock comes out."),
    ("What is an island?", "An island is a piece of land surrounded by water."),
    ("What is a desert?", "A desert is a region that receives very little rain."),
    ("What is a synonym?", "A synonym is a word that means the same as another word."),
    ("What is an antonym?", "An antonym is a word that means the opposite of another word."),
    ("What is a vaccine?", "A vaccine trains the immune system to recognise and fight a disease."),
    ("What is a thermometer?", "A thermometer is an instrument that measures temperature."),
    ("What is a calendar?", "A calendar is a chart of the days, weeks and months of a year."),
    ("What is recycling?", "Recycling is turning used materials into new products."),
    ("What is a habitat?", "A habitat is the natural home of an animal or plant."),
    ("What is the equator?", "The equator is an imaginary line around the middle of the Earth."),
    ("What is a metaphor?", "A metaphor describes something by calling it something else, like 'time is money'."),
    ("What is friction?", "Friction is the force that resists two surfaces sliding against each other."),
    ("What is a circle's diameter?", "The diameter is the length of a straight line through a circle's centre."),
]

HOWTOS = [
    ("How do I boil an egg?", "Put the egg in boiling water for about 7 to 9 minutes, then cool it in cold water."),
    ("How do I make a cup of tea?", "Boil water, pour it over a tea bag, wait a few minutes, then remove the bag."),
    ("How do I wash my hands properly?", "Wet your hands, rub them with soap for 20 seconds, rinse and dry them."),
    ("How do I find the area of a rectangle?", "Multiply its length by its width."),
    ("How do I find the average of some numbers?", "Add the numbers together and divide by how many there are."),
    ("How do I convert Celsius to Fahrenheit?", "Multiply by 9, divide by 5, then add 32."),
    ("How do I write a good email subject line?", "Keep it short and say what the email is about."),
    ("How can I save money each month?", "Make a budget, track your spending and set aside savings first."),
    ("How do I plant a seed?", "Put it in moist soil about twice as deep as its size and keep it in the light."),
    ("How do I check if a number is even?", "Divide it by 2: if there is no remainder, it is even."),
    ("How do I tie a simple knot?", "Make a loop, pass one end through it and pull both ends tight."),
    (
        "How can I fall asleep more easily?",
        "Go to bed at the same time each day, avoid screens before bed and keep the room dark.",
    ),
    ("How do I measure a room for a carpet?", "Measure the length and the width and multiply them."),
    ("How do I keep bread fresh?", "Keep it in a closed bag or a bread box at room temperature."),
    ("How do I stay safe crossing a road?", "Stop at the kerb, look both ways, and cross when it is clear."),
    ("How do I make a strong password?", "Use a long phrase with words, numbers and symbols that is hard to guess."),
    ("How do I round 4.7 to the nearest whole number?", "4.7 rounds up to 5."),
    ("How do I say thank you in Spanish?", "Thank you in Spanish is 'gracias'."),
    ("How do I say hello in French?", "Hello in French is 'bonjour'."),
    ("How do I calculate a 10 percent tip?", "Move the decimal point of the bill one place to the left."),
    (
        "How should I prepare for a job interview?",
        "Research the company, practise common questions and arrive on time.",
    ),
    ("How do I cool down a hot room?", "Close the curtains during the day and open windows when it is cooler."),
    ("How do I write a list in alphabetical order?", "Sort the words by their first letter, then the next."),
    ("How do I take care of a houseplant?", "Give it light, water it when the soil is dry and do not overwater it."),
    ("How do I apologise sincerely?", "Say what you did wrong, say you are sorry, and say how you will fix it."),
]

CONVERSIONS = [  # (unit, unit, factor, formatting precision)
    ("kilometres", "metres", 1000, 0),
    ("metres", "centimetres", 100, 0),
    ("hours", "minutes", 60, 0),
    ("minutes", "seconds", 60, 0),
    ("kilograms", "grams", 1000, 0),
    ("litres", "millilitres", 1000, 0),
    ("days", "hours", 24, 0),
    ("weeks", "days", 7, 0),
    ("feet", "inches", 12, 0),
    ("years", "months", 12, 0),
]
WORDS = (
    "apple garden window planet summer friend yellow school orange pencil winter bridge "
    "rabbit forest silver butter candle market doctor castle"
).split()


def _arithmetic(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(("add", "sub", "mul", "div", "half", "double", "square"))
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    if kind == "add":
        return f"What is {a} plus {b}?", f"{a} plus {b} is {a + b}."
    if kind == "sub":
        a, b = max(a, b), min(a, b)
        return f"What is {a} minus {b}?", f"{a} minus {b} is {a - b}."
    if kind == "mul":
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        return f"What is {a} times {b}?", f"{a} times {b} is {a * b}."
    if kind == "div":
        b, q = rng.randint(2, 12), rng.randint(2, 12)
        return f"What is {b * q} divided by {b}?", f"{b * q} divided by {b} is {q}."
    if kind == "half":
        n = 2 * rng.randint(2, 60)
        return f"What is half of {n}?", f"Half of {n} is {n // 2}."
    if kind == "double":
        return f"What is double {a}?", f"Double {a} is {2 * a}."
    n = rng.randint(2, 15)
    return f"What is {n} squared?", f"{n} squared is {n * n}."


def _conversion(rng: random.Random) -> tuple[str, str]:
    big, small, factor, _ = rng.choice(CONVERSIONS)
    n = rng.randint(2, 9)
    return f"How many {small} are in {n} {big}?", f"There are {n * factor} {small} in {n} {big}."


def _word(rng: random.Random) -> tuple[str, str]:
    w = rng.choice(WORDS)
    kind = rng.choice(("letters", "first", "last", "upper"))
    if kind == "letters":
        return f"How many letters are in the word '{w}'?", f"The word '{w}' has {len(w)} letters."
    if kind == "first":
        return f"What is the first letter of '{w}'?", f"The first letter of '{w}' is '{w[0]}'."
    if kind == "last":
        return f"What is the last letter of '{w}'?", f"The last letter of '{w}' is '{w[-1]}'."
    return f"Write '{w}' in capital letters.", w.upper()


def pairs(seed: int = 7) -> list[tuple[str, str, str]]:
    """(family, question, answer): every hand-written row, then computed ones, no question twice."""
    rng = random.Random(seed)
    out = (
        [("fact", q, a) for q, a in FACTS]
        + [("definition", q, a) for q, a in DEFINITIONS]
        + [("howto", q, a) for q, a in HOWTOS]
    )
    seen = {q for _, q, _ in out}
    for family, make, n in (("arithmetic", _arithmetic, 110), ("conversion", _conversion, 40), ("word", _word, 40)):
        made = 0
        while made < n:
            q, a = make(rng)
            if q not in seen:
                seen.add(q)
                out.append((family, q, a))
                made += 1
    return out


def split(rows: list[tuple[str, str, str]], seed: int = 7) -> tuple[list, list]:
    """(replay rows, eval rows): the eval rows are drawn evenly from every family."""
    rng = random.Random(seed + 1)
    order = list(range(len(rows)))
    rng.shuffle(order)
    families = sorted({f for f, _, _ in rows})
    held: list[int] = []
    while len(held) < EVAL_ROWS:
        for fam in families:
            nxt = next((i for i in order if rows[i][0] == fam and i not in held), None)
            if nxt is not None and len(held) < EVAL_ROWS:
                held.append(nxt)
    keep = set(held)
    return [r for i, r in enumerate(rows) if i not in keep], [rows[i] for i in sorted(held)]


def as_message(row: tuple[str, str, str]) -> dict:
    _, q, a = row
    return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}


def main() -> None:
    replay, held = split(pairs())
    for name, rows in (("general.jsonl", replay), ("general-eval.jsonl", held)):
        with open(HERE / "data" / name, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(as_message(r), ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
