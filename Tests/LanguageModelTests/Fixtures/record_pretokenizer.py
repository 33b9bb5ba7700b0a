#!/usr/bin/env python3
"""Expected pre-tokenizer pieces for tokenizer_strings.json, from the third-party `regex` module
(PyPI `regex`, which implements \\p{L}/\\p{N}) applying llama.cpp's patterns for `gpt2` and
`smollm` (llama-vocab.cpp): smollm = split off every \\p{N} codepoint, then the GPT-2 pattern on
each remaining stretch. Writes pretokenizer_cases.json.

    pip install regex && python3 record_pretokenizer.py
"""
import json
import os

import regex

here = os.path.dirname(os.path.abspath(__file__))
GPT2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def smollm(text):
    pieces, start = [], 0
    for m in regex.finditer(r"\p{N}", text):
        if m.start() > start:
            pieces += GPT2.findall(text[start:m.start()])
        pieces.append(m.group())
        start = m.end()
    pieces += GPT2.findall(text[start:])
    return pieces


strings = json.load(open(os.path.join(here, "tokenizer_strings.json"), encoding="utf-8"))
cases = [{"text": s, "gpt2": GPT2.findall(s), "smollm": smollm(s)} for s in strings]
json.dump({"cases": cases}, open(os.path.join(here, "pretokenizer_cases.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=0)
print(len(cases), "cases")
