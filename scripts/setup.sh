#!/usr/bin/env bash
# Installs what WebGPU without a GPU needs on Debian: chromium (ships SwiftShader's Vulkan driver, and
# is the browser the demo and benchmark tests drive), firefox-esr (the demo's, the benchmark's and the
# fuzzer's browser tests drive it too: a second engine, with its own WebGPU) and the Vulkan loader that Dawn
# in Node links.
# Does nothing when all are present; uses sudo when not run as root.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/firefox-esr ] || need+=(firefox-esr)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' || need+=(libvulkan1)
[ ${#need[@]} -eq 0 ] && exit 0
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
