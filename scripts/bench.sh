#!/usr/bin/env bash
# Prints kedge's benchmark table: binary size, cold start to /readyz, idle
# RSS and idle writes to the data dir (with the kine rows behind them, by
# key, so the writer is visible). Reports only; never fails on a figure.
# Everything listens on 127.0.0.1; nothing leaves the machine.
set -euo pipefail

BIN=${KEDGE_BIN:-bin/kedge}
IDLE_MINUTES=${IDLE_MINUTES:-5}
RSS_AFTER=${RSS_AFTER:-60}
work=$(mktemp -d /tmp/kedge-bench.XXXXXX)
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
while [ -n "$(ss -Htln "sport = :$port")" ]; do port=$((20000 + RANDOM % 20000)); done
node_ip=$(ip -4 -o addr show scope global | awk '{split($4,a,"/"); print a[1]; exit}')
[ -n "$node_ip" ] || { echo "bench: no non-loopback IPv4 address to advertise" >&2; exit 1; }
data="$work/data"
tls="$data/server/tls"
: >"$work/config.yaml"

raw=$(stat -c %s "$BIN")
zst=$(zstd -19 -T0 -q -c "$BIN" | wc -c)

start_ns=$(date +%s%N)
# The control plane alone: no node, so no packaged components either.
"$BIN" server --disable-agent --disable coredns,traefik,local-storage,metrics-server,servicelb \
	--config "$work/config.yaml" --data-dir "$data" \
	--write-kubeconfig "$work/kubeconfig" --bind-address 127.0.0.1 \
	--node-ip "$node_ip" --https-listen-port "$port" >"$work/log" 2>&1 &
pid=$!

readyz() {
	curl -sf --max-time 1 --cacert "$tls/server-ca.crt" --cert "$tls/client-admin.crt" \
		--key "$tls/client-admin.key" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1
}
until readyz; do
	kill -0 "$pid" 2>/dev/null || { echo "bench: kedge exited:"; tail -20 "$work/log"; exit 1; }
	sleep 0.05
done
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
until grep -q "kedge server is ready" "$work/log"; do sleep 0.05; done
serverready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))

sleep "$RSS_AFTER"
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
anon_kb=$(awk '/^Anonymous/ {print $2}' "/proc/$pid/smaps_rollup")

db="$data/server/db/state.db"
rows_before=$(sqlite3 "file:$db?mode=ro" 'SELECT max(id) FROM kine')
io_before=$(awk '/^write_bytes/ {print $2}' "/proc/$pid/io")
sleep $((IDLE_MINUTES * 60))
io_after=$(awk '/^write_bytes/ {print $2}' "/proc/$pid/io")
rows_after=$(sqlite3 "file:$db?mode=ro" 'SELECT max(id) FROM kine')
written=$((io_after - io_before))

printf '\n%-44s %s\n' "figure" "value"
printf '%-44s %s\n' "binary size (raw)" "$((raw / 1048576)) MiB ($raw B)"
printf '%-44s %s\n' "binary size (zstd -19)" "$((zst / 1048576)) MiB ($zst B)"
printf '%-44s %s\n' "cold start to /readyz ok" "$ready_ms ms"
printf '%-44s %s\n' "cold start to 'kedge server is ready'" "$serverready_ms ms"
printf '%-44s %s\n' "idle RSS of kedge after ${RSS_AFTER}s" "$((rss_kb / 1024)) MiB"
printf '%-44s %s\n' "  of which anonymous (heap, stacks)" "$((anon_kb / 1024)) MiB"
printf '%-44s %s\n' "  of which file-backed (binary pages)" "$(((rss_kb - anon_kb) / 1024)) MiB"
printf '%-44s %s\n' "bytes written while idle (${IDLE_MINUTES} min)" "$written B"
printf '%-44s %s\n' "bytes written per idle minute" "$((written / IDLE_MINUTES / 1024)) KiB/min"
printf '%-44s %s\n' "kine rows written while idle" "$((rows_after - rows_before))"
echo
echo "kine rows written while idle, by key:"
sqlite3 "file:$db?mode=ro" "SELECT count(*), name FROM kine WHERE id > $rows_before GROUP BY name ORDER BY 1 DESC LIMIT 15" | sed 's/^/  /'
