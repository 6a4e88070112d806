#!/usr/bin/env bash
# Renders a `replay report --html` file in headless Chromium (Debian:
# apt-get install chromium) and checks that the browser parsed the SVG
# timeline: the DOM Chromium serialises holds the svg, its lanes and the
# call-count line, and a screenshot is written next to the report.
#
#   go run ./cmd/replay --store D report --html out.html
#   cmd/replay/scripts/check-report-chromium.sh out.html
#
# The Go test TestCLI/report_html makes the same check (with a pixel count
# of the lanes' colours) whenever chromium is on PATH.
set -euo pipefail
file=$(realpath "${1:?usage: $0 REPORT.html}")
bin=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$bin" ]; then
  echo "chromium not found: apt-get install chromium" >&2
  exit 2
fi
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars)
dom=$("$bin" "${flags[@]}" --dump-dom "file://$file" 2>/dev/null)
for want in '<svg' '<polyline class="calls"' 'class="lane-label"' 'class="gap"' '<table>'; do
  if ! grep -qF "$want" <<<"$dom"; then
    echo "FAIL: the rendered DOM has no $want" >&2
    exit 1
  fi
done
png="${file%.html}.png"
"$bin" "${flags[@]}" --window-size=1300,1400 --screenshot="$png" "file://$file" >/dev/null 2>&1
if [ ! -s "$png" ]; then
  echo "FAIL: no screenshot" >&2
  exit 1
fi
echo "OK: $file renders in $("$bin" --version 2>/dev/null | head -1); screenshot $png"
