#!/usr/bin/env bash
# Debian's wordnet-base provides the built-in "wordnet" corpus (/usr/share/wordnet).
# Installs it when we are root with apt; otherwise says what to install and carries on
# (the WordNet tests then skip with the same reason).
set -u
dir=/usr/share/wordnet
if [ -f "$dir/data.noun" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "embedlens: installing Debian's wordnet-base for the built-in 'wordnet' corpus"
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wordnet-base >/dev/null 2>&1 \
     || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wordnet-base >/dev/null 2>&1; }; then
    exit 0
  fi
  echo "embedlens: apt-get could not install wordnet-base; the 'wordnet' corpus and its tests will be skipped" >&2
  exit 0
fi
echo "embedlens: the built-in 'wordnet' corpus needs Debian's wordnet-base (/usr/share/wordnet)." >&2
echo "  Install it with:  sudo apt-get install wordnet-base" >&2
echo "  Until then the WordNet-dependent tests are skipped." >&2
exit 0
