#!/usr/bin/env bash
# Does a tiny reasoner copy a story sentence by sentence? (the skill word and count traces
# stand on; see "A quote drill does not teach the copy" in the README).
#
#   scripts/quote-probe.sh MODEL [STORIES]
#
# Each story is a held-out word-2 prompt followed by a held-out count-1 prompt. The model
# gets the quote drill's instruction and the story (greedy), and the script counts the
# sentences it quotes exactly, in order. Prints the first two answers and the count.
set -euo pipefail
model="$1"; stories="${2:-6}"
ponder="${PONDER:-./target/release/ponder}"
python3 - "$ponder" "$model" "$stories" <<'PY'
import json, re, subprocess, sys

ponder, model, stories = sys.argv[1], sys.argv[2], int(sys.argv[3])

def prompts(family, level):
    out = subprocess.run([ponder, "tasks", "show", family, "--split", "test", "-d", str(level), "-n", str(stories), "--json"],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line)["prompt"] for line in out.splitlines() if line.startswith("{")]

exact = total = 0
for i, (word, count) in enumerate(zip(prompts("word", 2), prompts("count", 1))):
    story = f"{word} {count}"
    sentences = [s.strip() for s in re.findall(r"[^.?]+[.?]", story)]
    answer = subprocess.run([ponder, "ask", "--model", model, "--max-tokens", "400",
                             f"Quote each sentence, in order.\n{story}"], capture_output=True, text=True, check=True).stdout
    quotes = [line.strip().strip('"') for line in answer.splitlines() if line.strip().startswith('"')]
    exact += sum(want == got for want, got in zip(sentences, quotes))
    total += len(sentences)
    if i < 2:
        print(f"story: {story}\n{answer.strip()}\n")
print(f"{model}: {exact} of {total} sentences quoted exactly")
PY
