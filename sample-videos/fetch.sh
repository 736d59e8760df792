#!/usr/bin/env bash
# Obtains the sample media from Debian's opencv-doc package and converts them for Vigil:
#   vtest.mp4          768x576 H.264, 795 frames of pedestrians (from vtest.avi)
#   vtest-1080p.mp4    1920x1080 30 fps H.264 (throughput benchmarks)
#   vtest-1080p-hevc.mp4  the same in HEVC
#   messi5.jpg         a still image with a face (BlazeFace checks)
# Nothing here is committed; the script is idempotent and skips what already exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="$here/.cache"
mkdir -p "$cache"
if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
need_pkgs=()
command -v ffmpeg >/dev/null || need_pkgs+=(ffmpeg)
if ((${#need_pkgs[@]})); then
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
extract() { # file inside opencv-doc's examples/data -> destination
  local name=$1 dest=$2
  [[ -f "$dest" ]] && return 0
  if ! ls "$cache"/opencv-doc_*.deb >/dev/null 2>&1; then
    # apt-get download needs the package lists; refresh them once if they are missing or stale.
    (cd "$cache" && { apt-get download opencv-doc >/dev/null 2>&1 || { $sudo apt-get update -qq && apt-get download opencv-doc >/dev/null; }; })
  fi
  dpkg-deb --fsys-tarfile "$cache"/opencv-doc_*.deb \
    | tar -xO "./usr/share/doc/opencv-doc/examples/data/$name" > "$dest.tmp"
  mv "$dest.tmp" "$dest"
}
extract vtest.avi "$cache/vtest.avi"
extract messi5.jpg "$here/messi5.jpg"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
if [[ ! -f "$here/vtest.mp4" ]]; then
  ff -i "$cache/vtest.avi" -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -g 30 -bf 2 "$here/vtest.mp4.tmp.mp4"
  mv "$here/vtest.mp4.tmp.mp4" "$here/vtest.mp4"
fi
if [[ ! -f "$here/vtest-1080p.mp4" ]]; then
  ff -i "$cache/vtest.avi" -vf "scale=1920:1080:flags=bicubic,fps=30" -frames:v 300 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -g 60 -bf 2 "$here/vtest-1080p.tmp.mp4"
  mv "$here/vtest-1080p.tmp.mp4" "$here/vtest-1080p.mp4"
fi
if [[ ! -f "$here/vtest-1080p-hevc.mp4" ]]; then
  ff -i "$cache/vtest.avi" -vf "scale=1920:1080:flags=bicubic,fps=30" -frames:v 300 -c:v libx265 -preset veryfast -crf 26 -pix_fmt yuv420p -tag:v hvc1 -x265-params log-level=error:keyint=60 "$here/vtest-1080p-hevc.tmp.mp4"
  mv "$here/vtest-1080p-hevc.tmp.mp4" "$here/vtest-1080p-hevc.mp4"
fi
ls -la "$here"/*.mp4 "$here"/*.jpg
