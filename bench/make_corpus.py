#!/usr/bin/python3
"""A small English-French-like parallel corpus, tab-separated (Tatoeba's layout), for timing
translate on a user's data: short sentences from a fixed grammar, each pair unique, seeded.

    bench/make_corpus.py OUT.tsv [--pairs 600] [--seed 0]
"""
import argparse
import random

SUBJECTS = {"i": "je", "you": "tu", "he": "il", "she": "elle", "we": "nous", "they": "ils", "the cat": "le chat",
            "my friend": "mon ami", "the teacher": "le professeur", "our neighbour": "notre voisin"}
VERBS = {"see": "vois", "like": "aime", "want": "veux", "find": "trouve", "take": "prends", "paint": "peins",
         "buy": "achète", "sell": "vends", "carry": "porte", "draw": "dessine"}
OBJECTS = {"the house": "la maison", "a book": "un livre", "the car": "la voiture", "a flower": "une fleur",
           "the bread": "le pain", "a letter": "une lettre", "the river": "la rivière", "a song": "une chanson",
           "the garden": "le jardin", "a key": "une clé", "the window": "la fenêtre", "a boat": "un bateau"}
ADJECTIVES = {"red": "rouge", "small": "petit", "old": "vieux", "new": "neuf", "big": "grand", "green": "vert"}
TIMES = {"today": "aujourd'hui", "tomorrow": "demain", "now": "maintenant", "again": "encore", "": ""}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--pairs", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    pairs = {}
    while len(pairs) < a.pairs:
        s, v, o, adj, t = (rng.choice(list(d)) for d in (SUBJECTS, VERBS, OBJECTS, ADJECTIVES, TIMES))
        noun = o.split()[1]
        en = f"{s} {v} {o.split()[0]} {adj} {noun} {t}".strip() + rng.choice([".", "!", "?"])
        fr = f"{SUBJECTS[s]} {VERBS[v]} {OBJECTS[o]} {ADJECTIVES[adj]} {TIMES[t]}".strip() + en[-1]
        pairs.setdefault(en[0].upper() + en[1:], fr[0].upper() + fr[1:])
    with open(a.out, "w", encoding="utf-8") as f:
        for en, fr in pairs.items():
            f.write(f"{en}\t{fr}\n")


if __name__ == "__main__":
    main()
