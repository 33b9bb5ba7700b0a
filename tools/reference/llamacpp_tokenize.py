#!/usr/bin/env python3
"""Reference for `edgenode tokenize`: llama.cpp's tokenizer (through llama-cpp-python) on the
same text, with `tokenize(text, add_bos=False, special=False)`.

    compare:  llamacpp_tokenize.py MODEL.gguf --edgenode .build/release/edgenode FILE [FILE ...]
              tokenizes every file both ways and reports the first difference per file.
    record:   llamacpp_tokenize.py MODEL.gguf STRINGS.json --record OUT.json
              writes {"cases": [{"text": ..., "ids": [...]}, ...]} for the unit tests.

A development aid, not a CI dependency (tools/reference/env.sh builds llama-cpp-python).
"""
import argparse
import json
import subprocess
import sys
import tempfile

from llama_cpp import Llama


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("files", nargs="*")
    ap.add_argument("--edgenode")
    ap.add_argument("--record")
    args = ap.parse_args()
    llm = Llama(model_path=args.model, vocab_only=True, verbose=False)

    def reference(text):
        return llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    if args.record:
        cases = json.load(open(args.files[0], encoding="utf-8"))
        json.dump({"cases": [{"text": t, "ids": reference(t)} for t in cases]}, open(args.record, "w"), indent=0, ensure_ascii=False)
        return
    total, bad = 0, 0
    for path in args.files:
        try:
            text = open(path, encoding="utf-8").read()
        except UnicodeDecodeError:
            print(f"{path}: not UTF-8, skipped", file=sys.stderr)
            continue
        ref = reference(text)
        out = subprocess.run([args.edgenode, "tokenize", "--model", args.model, "--text", path, "--json"],
                             check=True, capture_output=True, text=True).stdout
        ours = json.loads(out)["ids"]
        total += len(ref)
        if ours == ref:
            print(f"{path}: {len(ref)} tokens identical")
            continue
        bad += 1
        i = next((k for k, (a, b) in enumerate(zip(ours, ref)) if a != b), min(len(ours), len(ref)))
        ctx = llm.detokenize(ref[max(0, i - 5):i + 5]).decode("utf-8", "replace")
        print(f"{path}: DIFFER at token {i} (ours {ours[i:i+5]}, llama.cpp {ref[i:i+5]}), near {ctx!r}")
    print(json.dumps({"files": len(args.files), "files_differing": bad, "reference_tokens": total}))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
