#!/usr/bin/env bash
# The web tests (`make test` runs them after the Swift suites): installs what they need when it is
# missing — Debian's chromium, chromium-driver and firefox-esr; Selenium, geckodriver and schemathesis
# from PyPI — then runs
# Tests/web/web_test.py against a real `visioncraft serve` built by `swift build`.
#   SCREENSHOTS_DIR  where the pages' screenshots go (default: a temporary folder; `make
#                    screenshots` points it at docs/screenshots)
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v firefox-esr >/dev/null; then
  echo "web tests: installing chromium, chromium-driver and firefox-esr (apt-get)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver firefox-esr >/dev/null
fi
${PYTHON:-python3} -m pip install --quiet --disable-pip-version-check -r Tests/web/requirements.txt
exec ${PYTHON:-python3} Tests/web/web_test.py "$@"
