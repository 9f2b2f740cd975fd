#!/usr/bin/env bash
# Debian packages that embedlens uses beside its Python packages:
#   wordnet-base  the built-in "wordnet" corpus (/usr/share/wordnet)
#   chromium      renders exported maps and reports in the headless-browser tests, and lets
#                 kaleido write static images
# Installs what is missing when we are root with apt; otherwise says exactly what to install and
# carries on (the tests that need a package then skip, giving the same reason).
set -u
missing=()
[ -f /usr/share/wordnet/data.noun ] || missing+=(wordnet-base)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "embedlens: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
     || { apt-get update -qq >/dev/null 2>&1 \
          && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; }; then
    exit 0
  fi
  echo "embedlens: apt-get could not install ${missing[*]}; the tests that need them will be skipped" >&2
  exit 0
fi
echo "embedlens: some features need Debian packages that are not installed: ${missing[*]}" >&2
echo "  Install them with:  sudo apt-get install ${missing[*]}" >&2
echo "  (wordnet-base: the 'wordnet' corpus; chromium: browser checks of maps and reports)." >&2
echo "  Until then the tests that need them are skipped." >&2
exit 0
