#!/usr/bin/env bash
# Makes the inputs of NvdecElementaryStreamTests from sample-videos/*.mp4 with the ffmpeg CLI (development machine):
# Annex-B elementary streams, and the first frames decoded by FFmpeg's software decoder as packed NV12 (gzip).
#   tests/Vigil.Gpu.Tests/native/make-nvdec-refs.sh OUT_DIR
set -euo pipefail
out=${1:?output folder}; root=$(git rev-parse --show-toplevel); s="$root/sample-videos"
mkdir -p "$out"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
ff -i "$s/vtest.mp4" -c:v copy -bsf:v h264_mp4toannexb -frames:v 90 -f h264 "$out/vtest-90.h264"
ff -i "$s/vtest-1080p.mp4" -c:v copy -bsf:v h264_mp4toannexb -f h264 "$out/vtest-1080p.h264"
ff -i "$s/vtest-1080p-hevc.mp4" -c:v copy -bsf:v hevc_mp4toannexb -f hevc "$out/vtest-1080p-hevc.h265"
ff -i "$out/vtest-90.h264" -frames:v 6 -pix_fmt nv12 -f rawvideo - | gzip -6 > "$out/vtest-12.nv12.gz"
ff -i "$out/vtest-1080p.h264" -frames:v 2 -pix_fmt nv12 -f rawvideo - | gzip -6 > "$out/vtest-1080p-4.nv12.gz"
ff -i "$out/vtest-1080p-hevc.h265" -frames:v 2 -pix_fmt nv12 -f rawvideo - | gzip -6 > "$out/vtest-1080p-hevc-4.nv12.gz"
# A faststart copy (index first) cut at 60%: a truncated file the demuxer can still open.
ff -i "$s/vtest-1080p.mp4" -c copy -movflags +faststart "$out/fs.tmp.mp4"
python3 -c "import sys; d=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(d[:len(d)*3//5])" "$out/fs.tmp.mp4" "$out/vtest-1080p-truncated.mp4"
rm -f "$out/fs.tmp.mp4"
