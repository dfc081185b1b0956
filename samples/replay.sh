#!/usr/bin/env bash
# Replays the sample requests (generate.json, edit.json) against a running
# prediction server with curl, and saves the images it returns.
#
#   bash samples/replay.sh [SERVER_URL] [OUTPUT_DIR]
#
# SERVER_URL defaults to http://localhost:5000: a container (docker run -p
# 5000:5000 ...) or `python -m tools.local_predict --serve 5000`. The bodies carry
# a placeholder key; OPENAI_API_KEY replaces it when set (the stand-in takes any).
set -euo pipefail
url=${1:-http://localhost:5000}
out=${2:-outputs/replay}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

for name in generate edit; do
  body=$(<"$here/$name.json")
  body=${body//sk-your-openai-api-key/${OPENAI_API_KEY:-sk-your-openai-api-key}}  # not in argv
  printf '%s' "$body" |
    curl -sS -X POST "$url/predictions" -H 'Content-Type: application/json' --data-binary @- \
      >"$out/$name.response.json"
  status=$(grep -o '"status":"[a-z]*"' "$out/$name.response.json" | head -n 1 || true)
  echo "$name: ${status:-no status} (answer in $out/$name.response.json)"
  index=0
  for uri in $(grep -o 'data:image/[a-z]*;base64,[A-Za-z0-9+/=]*' "$out/$name.response.json"); do
    extension=${uri#data:image/}
    extension=${extension%%;*}
    printf '%s' "${uri#*,}" | base64 -d >"$out/${name}_output_$index.$extension"
    echo "  saved $out/${name}_output_$index.$extension"
    index=$((index + 1))
  done
done
