"""Check staged triage examples and append them to corpus.jsonl.

Input: a staging file, one example per line, `CODE<TAB>text`.
Checks: category in the catalogue; no newline, non-empty; no exact duplicate
(within staging, corpus, heldout); character 3-gram Jaccard with every heldout
text < 0.5 and with every corpus text < 0.7. Reports the maxima. Appends only
if every line passes (use --check to only check, --check-corpus to check the
whole corpus against heldout).
"""
import json, sys, collections

ROOT = "data/triage/"
codes = [c["code"] for c in json.load(open("data/categories.json"))["categories"]]


def load(name):
    return [json.loads(l) for l in open(ROOT + name, encoding="utf-8")]


def grams(t):
    t = "".join(ch for ch in t if not ch.isspace())
    return {t[i:i + 3] for i in range(len(t) - 2)} or {t}


def index(texts):
    inv = collections.defaultdict(set)
    gs = []
    for i, t in enumerate(texts):
        g = grams(t)
        gs.append(g)
        for x in g:
            inv[x].add(i)
    return gs, inv


def max_jaccard(g, gs, inv):
    cand = collections.Counter()
    for x in g:
        for i in inv.get(x, ()):
            cand[i] += 1
    best, bi = 0.0, -1
    for i, inter in cand.items():
        j = inter / (len(g) + len(gs[i]) - inter)
        if j > best:
            best, bi = j, i
    return best, bi


def main():
    args = sys.argv[1:]
    corpus, heldout = load("corpus.jsonl"), load("heldout.jsonl")
    htexts = [r["text"] for r in heldout]
    hg, hinv = index(htexts)
    if "--check-corpus" in args:
        seen, bad, mx = set(), 0, 0.0
        for r in corpus:
            assert set(r) == {"text", "category"} and r["category"] in codes and r["text"], r
            assert "\n" not in r["text"]
            if r["text"] in seen:
                print("DUP corpus", r["text"]); bad += 1
            seen.add(r["text"])
            j, i = max_jaccard(grams(r["text"]), hg, hinv)
            mx = max(mx, j)
            if j >= 0.5:
                print(f"NEAR heldout {j:.2f}", r["text"], "||", htexts[i]); bad += 1
        dup = seen & set(htexts)
        print("corpus", len(corpus), "max jaccard vs heldout %.3f" % mx, "exact overlap", len(dup), "bad", bad)
        print(collections.Counter(r["category"] for r in corpus))
        return
    path = args[0]
    ctexts = [r["text"] for r in corpus]
    cg, cinv = index(ctexts)
    new, bad, seen = [], 0, set(ctexts) | set(htexts)
    mh = mc = 0.0
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        code, _, text = line.partition("\t")
        code, text = code.strip(), text.strip()
        if code not in codes or not text:
            print(f"{n}: BAD {line}"); bad += 1; continue
        if text in seen:
            print(f"{n}: DUP {text}"); bad += 1; continue
        seen.add(text)
        g = grams(text)
        jh, ih = max_jaccard(g, hg, hinv)
        jc, ic = max_jaccard(g, cg, cinv)
        mh, mc = max(mh, jh), max(mc, jc)
        if jh >= 0.5:
            print(f"{n}: NEAR heldout {jh:.2f} {text} || {htexts[ih]}"); bad += 1; continue
        if jc >= 0.7:
            print(f"{n}: NEAR corpus {jc:.2f} {text} || {ctexts[ic]}"); bad += 1; continue
        new.append({"text": text, "category": code})
        ng = grams(text); cg.append(ng); ctexts.append(text)
        for x in ng:
            cinv[x].add(len(cg) - 1)
    print(f"{len(new)} ok, {bad} bad; max jaccard vs heldout {mh:.3f}, vs corpus {mc:.3f}")
    print(collections.Counter(r["category"] for r in new))
    if bad or "--check" in args:
        return
    with open(ROOT + "corpus.jsonl", "a", encoding="utf-8") as f:
        for r in new:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("appended", len(new))


main()
