#!/usr/bin/env bash
# Regenerates the real-traffic MQTT capture corpus (captures/real-*.pcap*, captures/MANIFEST.md).
#
#   sudo scripts/make-captures.sh            # regenerate captures/ and captures/MANIFEST.md
#   sudo scripts/make-captures.sh --check    # regenerate into a temp dir and compare the MQTT
#                                            # packet-type counts with captures/MANIFEST.md
#   sudo scripts/make-captures.sh --out DIR  # write the captures and MANIFEST.md to DIR
#   sudo scripts/make-captures.sh --only F   # regenerate only capture F (repeatable); the other rows of
#                                            # MANIFEST.md are kept
#
# What it does (Debian; needs root for apt-get, network namespaces and packet capture):
#   * installs mosquitto, mosquitto-clients, tcpdump, tshark (for dumpcap/tshark), iproute2 when missing
#   * creates a private network namespace with only `lo` up, so the captures hold nothing but the
#     corpus traffic; every process below runs inside it and all traffic stays on its loopback
#   * per scenario group: starts a fresh mosquitto broker (own config in a temp dir, not the system
#     service) with listener 1883 (anonymous) and listener 6002 (user name + password, like the
#     OneNET platform; per_listener_settings true) and listener 8080 with `protocol websockets`
#     (MQTT over WebSocket, anonymous), starts one capture (tcpdump -i lo -> pcap
#     Ethernet, tcpdump -i any -> pcap Linux cooked v2, or dumpcap -i lo -> pcapng), drives real
#     clients (mosquitto_pub / mosquitto_sub and MQTT.js via scripts/corpus-clients.mjs), stops
#     the capture with SIGINT and the broker with SIGTERM, by PID
#   * MQTT over TLS: an openssl-made CA and server certificates (one valid, one expired) in the work dir,
#     mosquitto TLS listeners 8883 (TLS 1.2+), 8884 (TLS 1.1+, NULL ciphers allowed) and 8885 (expired
#     certificate); MQTT.js over mqtts:// with Node's key log (NODE_OPTIONS=--tls-keylog) and openssl
#     s_client -keylogfile for the suites MQTT.js will not negotiate (CBC with and without Encrypt-then-MAC,
#     CCM, CCM_8, TLS 1.1, NULL, a TLS 1.3 KeyUpdate, a resumed session), MQTT bytes written through
#     s_client; the key logs are shipped next to the captures (FILE.keys), and one pcapng carries its
#     keys in a Decryption Secrets Block (editcap --inject-secrets)
#   * MQTT over WebSocket with permessage-deflate: mosquitto's listener does not offer the extension, so
#     scripts/ws-deflate-bridge.mjs (the `ws` library) listens on 8083 with it and relays each connection to 1883;
#     MQTT.js over ws:// with compression on (its own connections to 1883 are in the capture too)
#   * MQTT over WebSocket inside TLS (wss): a websockets listener 8084 with the same certificate (certfile/keyfile),
#     MQTT.js over wss:// with Node's key log, shipped as real-wss-8084.keys
#   * Sparkplug B: Eclipse Tahu's edge node client (sparkplug-client, MQTT 3.1.1) and a primary host application
#     (MQTT.js 5.0, sparkplug-payload for its commands), scripts/corpus-sparkplug.mjs; births, data by alias, a
#     rebirth request, a device command, a device death, a seq wrap, the edge node killed (its NDEATH Will published);
#     what each client published is shipped as real-sparkplug.expected.ndjson
#   * checks every capture with tshark (expected packet types present, no malformed packets, no
#     expert warnings/errors) and writes MANIFEST.md with tshark's packet-type counts
#
# Every client, wait and capture is bounded in time; any failed step stops the script with a
# message and a non-zero exit status.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$ROOT/scripts/make-captures.sh"
CLIENTS="$ROOT/scripts/corpus-clients.mjs"
SESS_CLIENTS="$ROOT/scripts/corpus-sessions.py"
SPARKPLUG="$ROOT/scripts/corpus-sparkplug.mjs"
SNAPLEN=262144
FILTER='tcp port 1883 or tcp port 6002 or tcp port 8080 or tcp port 8083 or tcp port 8084 or tcp port 8883 or tcp port 8884 or tcp port 8885'
# OneNET-style credentials on listener 6002: user name = product id, client id = device name,
# password = a (fixed, fake) OneNET token.
ONENET_USER=482913
ONENET_TOKEN='version=2018-10-31&res=products%2F482913%2Fdevices%2Fdev-0001&et=1924905600&method=sha1&sign=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA%3D%3D'
LARGE_BYTES=204800 # 200 KiB payload

log() { printf '[make-captures] %s\n' "$*" >&2; }
die() {
  printf '[make-captures] ERROR: %s\n' "$*" >&2
  exit 1
}

# The captures, in order: file|tool|link type description|group function
CAPTURES=(
  "real-v311-qos.pcap|tcpdump -i lo|pcap, Ethernet (LINKTYPE_ETHERNET 1)|group_v311"
  "real-v31-sll2.pcap|tcpdump -i any|pcap, Linux cooked v2 (LINKTYPE_LINUX_SLL2 276), IPv6 ::1|group_v31"
  "real-v5-props.pcapng|dumpcap -i lo|pcapng, Ethernet interface (LINKTYPE_ETHERNET 1)|group_v5"
  "real-onenet-6002.pcap|tcpdump -i any|pcap, Linux cooked v2 (LINKTYPE_LINUX_SLL2 276)|group_onenet"
  "real-will-kill.pcapng|dumpcap -i lo|pcapng, Ethernet interface (LINKTYPE_ETHERNET 1)|group_will"
  "real-sessions.pcap|tcpdump -i lo|pcap, Ethernet (LINKTYPE_ETHERNET 1)|group_sessions"
  "real-sessions-v5.pcap|tcpdump -i lo|pcap, Ethernet (LINKTYPE_ETHERNET 1)|group_sessions5"
  "real-large-200k.pcap|tcpdump -i lo|pcap, Ethernet (LINKTYPE_ETHERNET 1)|group_large"
  "real-midstream-json.pcap.gz|tcpdump -i lo|pcap (gzip), Ethernet (LINKTYPE_ETHERNET 1), started mid-stream|group_midstream"
  "real-tls-mqttjs.pcapng|dumpcap -i lo|pcapng, Ethernet interface (LINKTYPE_ETHERNET 1); TLS, keys in real-tls-mqttjs.keys|group_tls_mqttjs"
  "real-tls-openssl.pcap|tcpdump -i lo|pcap, Ethernet (LINKTYPE_ETHERNET 1); TLS, keys in real-tls-openssl.keys|group_tls_openssl"
  "real-tls-openssl-dsb.pcapng|editcap --inject-secrets|pcapng, Ethernet; the keys in a Decryption Secrets Block|derived_dsb"
  "real-ws-8080.pcap|tcpdump -i lo|pcap, Ethernet (LINKTYPE_ETHERNET 1)|group_ws"
  "real-ws-8083.pcap|tcpdump -i lo|pcap, Ethernet (LINKTYPE_ETHERNET 1); permessage-deflate|group_ws_deflate"
  "real-wss-8084.pcap|tcpdump -i lo|pcap, Ethernet (LINKTYPE_ETHERNET 1); TLS, keys in real-wss-8084.keys|group_wss"
  "real-sparkplug.pcap|tcpdump -i lo|pcap, Ethernet (LINKTYPE_ETHERNET 1)|group_sparkplug"
)
# Key logs shipped with their captures (tshark -o tls.keylog_file:FILE.keys; mqtt-dissect --tls-keylog FILE.keys).
keys_of() {
  case "$1" in
  real-tls-mqttjs.pcapng) echo real-tls-mqttjs.keys ;;
  real-tls-openssl.pcap) echo real-tls-openssl.keys ;;
  real-wss-8084.pcap) echo real-wss-8084.keys ;;
  esac
}
# Captures that start after their connections did: they hold no CONNECT, tshark cannot frame them itself (it reads
# every segment start as a packet start), and what they hold depends on timing, so --check does not compare them.
MIDSTREAM=real-midstream-json.pcap.gz

# Packet types each capture must contain (names as in MANIFEST.md).
required_types() {
  case "$1" in
  real-v311-qos.pcap | real-v31-sll2.pcap)
    echo CONNECT CONNACK PUBLISH PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK PINGREQ PINGRESP DISCONNECT
    ;;
  real-v5-props.pcapng)
    echo CONNECT CONNACK PUBLISH PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK DISCONNECT
    ;;
  real-onenet-6002.pcap) echo CONNECT CONNACK PUBLISH PUBACK SUBSCRIBE SUBACK DISCONNECT ;;
  real-will-kill.pcapng) echo CONNECT CONNACK PUBLISH PUBACK SUBSCRIBE SUBACK DISCONNECT ;;
  real-sessions.pcap | real-sessions-v5.pcap) echo CONNECT CONNACK PUBLISH PUBACK SUBSCRIBE SUBACK DISCONNECT ;;
  real-large-200k.pcap) echo CONNECT CONNACK PUBLISH PUBACK SUBSCRIBE SUBACK DISCONNECT ;;
  real-midstream-json.pcap.gz) echo PUBLISH ;;
  real-tls-mqttjs.pcapng) echo CONNECT CONNACK PUBLISH PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK PINGREQ PINGRESP DISCONNECT ;;
  real-tls-openssl.pcap | real-tls-openssl-dsb.pcapng) echo CONNECT CONNACK PUBLISH PUBACK DISCONNECT ;;
  real-ws-8080.pcap | real-ws-8083.pcap | real-wss-8084.pcap) echo CONNECT CONNACK PUBLISH PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK PINGREQ PINGRESP DISCONNECT ;;
  real-sparkplug.pcap) echo CONNECT CONNACK PUBLISH PUBACK SUBSCRIBE SUBACK DISCONNECT ;;
  *) die "no required types for $1" ;;
  esac
}

MSGTYPE_NAMES=(RESERVED CONNECT CONNACK PUBLISH PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK PINGREQ PINGRESP DISCONNECT AUTH)

# =============================================================================================
# Inner part: runs inside the network namespace.
# =============================================================================================

if [[ "${MAKE_CAPTURES_INNER:-}" == 1 ]]; then
  WORK=${MAKE_CAPTURES_WORK:?}
  BROKER_PID=
  CAP_PID=
  BG_PIDS=()
  BLOG=

  inner_cleanup() {
    local p
    for p in "${BG_PIDS[@]}" $CAP_PID $BROKER_PID; do
      [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null || true
    done
  }
  trap inner_cleanup EXIT

  # wait_until DESCRIPTION TIMEOUT_S COMMAND... : polls COMMAND every 50 ms
  wait_until() {
    local desc=$1 t=$2
    shift 2
    local deadline=$((SECONDS + t))
    until "$@"; do
      ((SECONDS < deadline)) || die "timed out after ${t}s waiting for $desc"
      sleep 0.05
    done
  }

  # wait_pid PID TIMEOUT_S DESCRIPTION : waits for a background child; sets WAIT_RC
  wait_pid() {
    local pid=$1 t=$2 desc=$3
    local deadline=$((SECONDS + t))
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then
        kill -9 "$pid" 2>/dev/null || true
        die "timed out after ${t}s waiting for $desc (PID $pid) to exit"
      fi
      sleep 0.05
    done
    WAIT_RC=0
    wait "$pid" 2>/dev/null || WAIT_RC=$?
  }

  # SIGKILL a background child and reap it at once (so bash prints no "Killed" job report).
  kill_and_reap() {
    kill -9 "$1"
    wait "$1" 2>/dev/null || true
  }

  log_count() {
    local n=0
    [[ -f "$BLOG" ]] && n=$(grep -cF -- "$1" "$BLOG") || true
    echo "${n:-0}"
  }
  log_has_n() { (($(log_count "$1") >= $2)); }

  # bg NAME COMMAND... : starts COMMAND in the background (stdout/stderr to $WORK/NAME.out/.err)
  bg() {
    local name=$1
    shift
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
  }

  # run DESCRIPTION TIMEOUT_S COMMAND... : runs COMMAND in the foreground, must exit 0
  run() {
    local desc=$1 t=$2 rc=0
    shift 2
    timeout -k 2 "$t" "$@" >"$WORK/last.out" 2>"$WORK/last.err" || rc=$?
    if ((rc != 0)); then
      cat "$WORK/last.err" >&2
      if ((rc == 124 || rc == 137)); then die "$desc: timed out after ${t}s"; fi
      die "$desc: failed with exit status $rc"
    fi
  }

  # run_refused DESCRIPTION COMMAND... : a client whose CONNECT must be refused (exit non-zero,
  # not a timeout) and whose error message must say so
  run_refused() {
    local desc=$1 rc=0
    shift
    timeout -k 2 10 "$@" >"$WORK/last.out" 2>"$WORK/last.err" || rc=$?
    ((rc != 0)) || die "$desc: the broker accepted a login it should have refused"
    ((rc != 124 && rc != 137)) || die "$desc: timed out"
    grep -qi 'not auth\|refused' "$WORK/last.err" || {
      cat "$WORK/last.err" >&2
      die "$desc: unexpected error (exit status $rc)"
    }
  }

  start_broker() {
    local name=$1
    BLOG="$WORK/broker-$name.log"
    local conf="$WORK/mosquitto-$name.conf"
    cat >"$conf" <<EOF
# mqtt-dissect corpus broker ($name)
user root
persistence false
log_dest file $BLOG
log_type all
connection_messages true
per_listener_settings true

listener 1883
allow_anonymous true

# OneNET-like listener: user name + password required
listener 6002
allow_anonymous false
password_file $WORK/passwd

# MQTT over WebSocket (mosquitto 2.0 needs a plain listener beside it, or it refuses to start)
listener 8080
protocol websockets
allow_anonymous true
EOF
    if [[ "$name" == wss ]]; then
      cat >>"$conf" <<EOF

# MQTT over WebSocket inside TLS (wss): a websockets listener with the corpus certificate
listener 8084
protocol websockets
allow_anonymous true
certfile $WORK/tls/server.pem
keyfile $WORK/tls/server.key
EOF
    fi
    if [[ "$name" == tls_* ]]; then
      local T=$WORK/tls
      cat >>"$conf" <<EOF

# MQTT over TLS: TLS 1.2 and 1.3 with every suite the corpus forces (CBC and CCM included)
listener 8883
allow_anonymous true
cafile $T/ca.pem
certfile $T/server.pem
keyfile $T/server.key
ciphers ALL:!aNULL:!eNULL
ciphers_tls1.3 TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256

# Old TLS (1.1 and up) and NULL ciphers, for the findings
listener 8884
allow_anonymous true
cafile $T/ca.pem
certfile $T/server.pem
keyfile $T/server.key
tls_version tlsv1.1
ciphers ALL:eNULL:@SECLEVEL=0

# An expired server certificate
listener 8885
allow_anonymous true
cafile $T/ca.pem
certfile $T/expired.pem
keyfile $T/server.key
EOF
    fi
    mosquitto -c "$conf" >"$WORK/broker-$name.stdout" 2>&1 &
    BROKER_PID=$!
    wait_until "mosquitto ($name) to start" 10 log_has_n "mosquitto version" 2
    grep -qF 'running' "$BLOG" || die "mosquitto did not start: $(cat "$BLOG")"
    grep -qF 'listen socket on port 1883' "$BLOG" || die "mosquitto: no listener on 1883"
    grep -qF 'listen socket on port 6002' "$BLOG" || die "mosquitto: no listener on 6002"
    if [[ "$name" == tls_* ]]; then
      grep -qF 'listen socket on port 8885' "$BLOG" || die "mosquitto: no TLS listener on 8885: $(cat "$BLOG")"
    fi
    if [[ "$name" == ws* ]]; then
      grep -qF 'websockets listen socket on port 8080' "$BLOG" || die "mosquitto: no WebSocket listener on 8080"
    fi
    if [[ "$name" == wss ]]; then
      grep -qF 'websockets listen socket on port 8084' "$BLOG" || die "mosquitto: no wss listener on 8084: $(cat "$BLOG")"
    fi
  }

  stop_broker() {
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    wait_pid "$BROKER_PID" 10 "mosquitto"
    BROKER_PID=
  }

  # start_capture TOOL IFACE FILE
  start_capture() {
    local tool=$1 iface=$2 file=$3
    local clog="$WORK/$(basename "$file").capture.log"
    case "$tool" in
    tcpdump)
      local extra=()
      [[ "$iface" == any ]] && extra=(-y LINUX_SLL2)
      # --immediate-mode: without it packets can sit in the TPACKET_V3 ring until the block
      # timeout and be lost when tcpdump is stopped shortly after the last packet. In immediate
      # mode the ring has one snaplen-sized slot per packet, so the default 2 MiB buffer holds
      # only ~8 packets and bursts get dropped: -B 131072 (KiB) gives it room for ~500.
      tcpdump -i "$iface" "${extra[@]}" --immediate-mode -B 131072 -U -n -s "$SNAPLEN" -Z root \
        -w "$file" "$FILTER" 2>"$clog" &
      CAP_PID=$!
      wait_until "tcpdump to listen on $iface" 10 grep -qsF 'listening on' "$clog"
      ;;
    dumpcap)
      dumpcap -i "$iface" -B 64 -s "$SNAPLEN" -f "$FILTER" -w "$file" 2>"$clog" &
      CAP_PID=$!
      wait_until "dumpcap to capture on $iface" 10 grep -qsF 'Capturing on' "$clog"
      ;;
    *) die "unknown capture tool $tool" ;;
    esac
    wait_until "capture file $file" 5 test -s "$file"
    sleep 0.3
  }

  stop_capture() {
    local file=$1
    sleep 1 # let the last FIN/ACKs reach the capture (dumpcap delivers in 250 ms batches)
    kill -INT "$CAP_PID"
    wait_pid "$CAP_PID" 10 "capture of $file"
    ((WAIT_RC == 0)) || die "capture of $file exited with status $WAIT_RC: $(cat "$WORK/$(basename "$file").capture.log")"
    CAP_PID=
    local clog
    clog="$WORK/$(basename "$file").capture.log"
    # Refuse captures with packets dropped by the kernel or the capture tool.
    grep -qE '^0 packets dropped by kernel|Packets received/dropped on interface .*: [0-9]+/0 ' "$clog" ||
      die "$(basename "$file"): the capture dropped packets: $(tr '\r' '\n' <"$clog" | grep -vE '^Packets: ')"
    log "  $(basename "$file"): $(tr '\r' '\n' <"$clog" | grep -E '^[0-9]+ packets captured|^Packets captured' | tr -d '\n')"
  }

  # wait until the broker has sent a SUBACK to CLIENT_ID
  wait_suback() { wait_until "SUBACK to $1" 10 log_has_n "Sending SUBACK to $1" "${2:-1}"; }

  expect_lines() { # FILE N DESCRIPTION
    local n
    n=$(wc -l <"$1")
    ((n == $2)) || die "$3: expected $2 line(s) of output, got $n: $(cat "$1")"
  }

  # --- shared QoS / retained / unsubscribe scenario for MQTT 3.1 and 3.1.1 ------------------
  qos_group() { # VERSION_FLAG TAG HOST JS_SCENARIO
    local V=$1 tag=$2 host=$3 js=$4
    local base=(-h "$host" -p 1883 -V "$V")
    # A subscriber at QoS 2 receives what publishers send at QoS 0, 1 and 2.
    bg "$tag-sub" mosquitto_sub "${base[@]}" -i "corpus-$tag-sub" -t "corpus/$tag/qos/#" -q 2 -C 3 -W 20 -v
    local sub_pid=$BG_PID
    wait_suback "corpus-$tag-sub"
    local q
    for q in 0 1 2; do
      run "mosquitto_pub $tag QoS $q" 15 mosquitto_pub "${base[@]}" -i "corpus-$tag-pub-q$q" \
        -t "corpus/$tag/qos/q$q" -m "$tag payload at QoS $q" -q "$q"
    done
    wait_pid "$sub_pid" 25 "mosquitto_sub corpus-$tag-sub"
    ((WAIT_RC == 0)) || die "mosquitto_sub corpus-$tag-sub failed ($WAIT_RC): $(cat "$WORK/$tag-sub.err")"
    expect_lines "$WORK/$tag-sub.out" 3 "corpus-$tag-sub"
    # Retained message: set, received by a late subscriber, cleared (empty retained PUBLISH).
    run "retained publish $tag" 15 mosquitto_pub "${base[@]}" -i "corpus-$tag-retain" \
      -t "corpus/$tag/retained/state" -m "retained $tag state" -q 1 -r
    run "late subscriber $tag" 15 mosquitto_sub "${base[@]}" -i "corpus-$tag-late" \
      -t "corpus/$tag/retained/#" -q 1 -C 1 -W 10 -v
    grep -qF "corpus/$tag/retained/state retained $tag state" "$WORK/last.out" ||
      die "late subscriber $tag did not get the retained message: $(cat "$WORK/last.out")"
    run "clear retained $tag" 15 mosquitto_pub "${base[@]}" -i "corpus-$tag-clear" \
      -t "corpus/$tag/retained/state" -n -q 1 -r
    # MQTT.js: SUBSCRIBE (2 filters), PUBLISH to itself, PINGREQ, UNSUBSCRIBE, DISCONNECT.
    run "MQTT.js $js" 45 node "$CLIENTS" "$js" --host "$host" --port 1883
  }

  group_v311() { qos_group mqttv311 v311 127.0.0.1 unsub-v311; }
  group_v31() { qos_group mqttv31 v31 ::1 unsub-v31; }

  group_v5() {
    local base=(-h 127.0.0.1 -p 1883 -V mqttv5)
    bg v5-sub mosquitto_sub "${base[@]}" -i corpus-v5-msub -t 'corpus/v5/qos/#' -q 2 -C 3 -W 20 -v \
      -D connect session-expiry-interval 30 -D connect user-property client mosquitto_sub \
      -D subscribe subscription-identifier 5
    local sub_pid=$BG_PID
    wait_suback corpus-v5-msub
    run "mosquitto_pub v5 QoS 0" 15 mosquitto_pub "${base[@]}" -i corpus-v5-mpub-q0 -t corpus/v5/qos/q0 \
      -m 'v5 payload at QoS 0' -q 0 -D publish user-property k0 v0 -D publish content-type text/plain
    run "mosquitto_pub v5 QoS 1" 15 mosquitto_pub "${base[@]}" -i corpus-v5-mpub-q1 -t corpus/v5/qos/q1 \
      -m 'v5 payload at QoS 1' -q 1 -D publish message-expiry-interval 300 -D publish payload-format-indicator 1
    run "mosquitto_pub v5 QoS 2" 15 mosquitto_pub "${base[@]}" -i corpus-v5-mpub-q2 -t corpus/v5/qos/q2 \
      -m 'v5 payload at QoS 2' -q 2 -D publish response-topic corpus/v5/qos/answer \
      -D publish correlation-data c0ffee -D connect session-expiry-interval 10
    wait_pid "$sub_pid" 25 "mosquitto_sub corpus-v5-msub"
    ((WAIT_RC == 0)) || die "mosquitto_sub corpus-v5-msub failed ($WAIT_RC): $(cat "$WORK/v5-sub.err")"
    expect_lines "$WORK/v5-sub.out" 3 corpus-v5-msub
    run "retained publish v5" 15 mosquitto_pub "${base[@]}" -i corpus-v5-retain -t corpus/v5/retained/state \
      -m 'retained v5 state' -q 1 -r -D publish message-expiry-interval 600
    run "late subscriber v5" 15 mosquitto_sub "${base[@]}" -i corpus-v5-late -t 'corpus/v5/retained/#' \
      -q 1 -C 1 -W 10 -v
    grep -qF 'corpus/v5/retained/state retained v5 state' "$WORK/last.out" ||
      die "late subscriber v5 did not get the retained message: $(cat "$WORK/last.out")"
    run "clear retained v5" 15 mosquitto_pub "${base[@]}" -i corpus-v5-clear -t corpus/v5/retained/state -n -q 1 -r
    run "MQTT.js v5-props" 45 node "$CLIENTS" v5-props --host 127.0.0.1 --port 1883
  }

  group_onenet() {
    local base=(-h 127.0.0.1 -p 6002)
    local topic="\$sys/$ONENET_USER/dev-0001/dp/post/json"
    # Refused logins: wrong password (3.1.1 -> CONNACK rc 5; 5.0 -> reason 0x87), no credentials.
    run_refused "wrong password v3.1.1" mosquitto_pub "${base[@]}" -V mqttv311 -i dev-0001 \
      -u "$ONENET_USER" -P 'wrong-token' -t "$topic" -m '{"id":1}' -q 1
    run_refused "wrong password v5" mosquitto_pub "${base[@]}" -V mqttv5 -i dev-0001 \
      -u "$ONENET_USER" -P 'wrong-token' -t "$topic" -m '{"id":1}' -q 1
    run_refused "no credentials v3.1.1" mosquitto_pub "${base[@]}" -V mqttv311 -i dev-0001 \
      -t "$topic" -m '{"id":1}' -q 1
    # Good logins: an application subscribes to the device's data-point topic, the device posts.
    bg onenet-sub mosquitto_sub "${base[@]}" -V mqttv311 -i onenet-app -u "$ONENET_USER" -P "$ONENET_TOKEN" \
      -t "\$sys/$ONENET_USER/+/dp/post/json" -q 1 -C 2 -W 20 -v
    local sub_pid=$BG_PID
    wait_suback onenet-app
    run "good login v3.1.1" 15 mosquitto_pub "${base[@]}" -V mqttv311 -i dev-0001 -u "$ONENET_USER" \
      -P "$ONENET_TOKEN" -t "$topic" -m '{"id":1,"dp":{"temperature":[{"v":21.5}]}}' -q 1
    run "good login v5" 15 mosquitto_pub "${base[@]}" -V mqttv5 -i dev-0001 -u "$ONENET_USER" \
      -P "$ONENET_TOKEN" -t "$topic" -m '{"id":2,"dp":{"humidity":[{"v":40}]}}' -q 1
    wait_pid "$sub_pid" 25 "mosquitto_sub onenet-app"
    ((WAIT_RC == 0)) || die "mosquitto_sub onenet-app failed ($WAIT_RC): $(cat "$WORK/onenet-sub.err")"
    expect_lines "$WORK/onenet-sub.out" 2 onenet-app
    grep -qF "Sending CONNACK to <unknown> (0, 5)" "$BLOG" || grep -qF "(0, 5)" "$BLOG" ||
      die "broker log shows no CONNACK with return code 5"
  }

  group_will() {
    local base=(-h 127.0.0.1 -p 1883)
    bg will-watch mosquitto_sub "${base[@]}" -V mqttv5 -i corpus-will-watch -t 'corpus/will/#' -q 1 -C 2 -W 25 -v
    local watch_pid=$BG_PID
    wait_suback corpus-will-watch
    # 1. mosquitto_sub (3.1.1) with a Will, killed with SIGKILL: no DISCONNECT, the broker
    #    publishes the Will.
    bg will-v311 mosquitto_sub "${base[@]}" -V mqttv311 -i corpus-will-v311 -t corpus/will-holder/v311 -q 0 \
      --will-topic corpus/will/v311 --will-payload 'corpus-will-v311 lost' --will-qos 1 -W 30
    local v311_pid=$BG_PID
    wait_suback corpus-will-v311
    kill_and_reap "$v311_pid"
    wait_until "the broker to publish the will of corpus-will-v311" 10 \
      log_has_n "Sending PUBLISH to corpus-will-watch" 1
    # 2. MQTT.js (5.0) with a Will carrying will properties, killed with SIGKILL.
    bg will-v5 node "$CLIENTS" will-v5 --host 127.0.0.1 --port 1883
    local v5_pid=$BG_PID
    wait_until "MQTT.js will-v5 to connect" 15 grep -qsx READY "$WORK/will-v5.out"
    kill_and_reap "$v5_pid"
    wait_pid "$watch_pid" 25 "mosquitto_sub corpus-will-watch"
    ((WAIT_RC == 0)) || die "mosquitto_sub corpus-will-watch failed ($WAIT_RC): $(cat "$WORK/will-watch.err")"
    expect_lines "$WORK/will-watch.out" 2 corpus-will-watch
    grep -qF 'corpus/will/v311 corpus-will-v311 lost' "$WORK/will-watch.out" || die "will of corpus-will-v311 missing"
    grep -qF 'corpus/will/v5 corpus-will-v5 lost' "$WORK/will-watch.out" || die "will of corpus-will-v5 missing"
  }

  # --- sessions across connections (issue 14): what test/e2e/cli-sessions-real.test.ts asserts ----------------
  group_sessions() {
    local base=(-h 127.0.0.1 -p 1883)
    local py=(/usr/bin/python3 "$SESS_CLIENTS" 127.0.0.1 1883)
    # Watcher of the Wills (3.1.1, clean): gets exactly the two that are due, then disconnects.
    bg sess-watch mosquitto_sub "${base[@]}" -V mqttv311 -i corpus-sess-watch -t 'corpus/sess/will/#' -q 1 -C 2 -W 40 -v
    local watch_pid=$BG_PID
    wait_suback corpus-sess-watch
    # 1. A Will not fired: mosquitto_sub (5.0) with a Will gets one message and ends with DISCONNECT 0x00.
    bg sess-bye mosquitto_sub "${base[@]}" -V mqttv5 -i corpus-sess-will-bye -t corpus/sess/bye -q 1 -C 1 -W 20 \
      --will-topic corpus/sess/will/bye --will-payload 'corpus-sess-will-bye must not be published' --will-qos 1
    local bye_pid=$BG_PID
    wait_suback corpus-sess-will-bye
    run "publish to corpus-sess-will-bye" 15 mosquitto_pub "${base[@]}" -i corpus-sess-bye-pub -t corpus/sess/bye -m 'bye message 1' -q 1
    wait_pid "$bye_pid" 20 "mosquitto_sub corpus-sess-will-bye"
    ((WAIT_RC == 0)) || die "mosquitto_sub corpus-sess-will-bye failed ($WAIT_RC)"
    # 2. QoS downgrade: a subscriber granted QoS 0 receives two QoS 1 messages at QoS 0.
    bg sess-q0 mosquitto_sub "${base[@]}" -V mqttv311 -i corpus-sess-q0 -t corpus/sess/down -q 0 -C 2 -W 20 -v
    local q0_pid=$BG_PID
    wait_suback corpus-sess-q0
    local i
    for i in 1 2; do
      run "QoS 1 publish $i to the QoS 0 subscriber" 15 mosquitto_pub "${base[@]}" -i "corpus-sess-down-pub$i" -t corpus/sess/down -m "downgrade message $i" -q 1
    done
    wait_pid "$q0_pid" 20 "mosquitto_sub corpus-sess-q0"
    expect_lines "$WORK/sess-q0.out" 2 corpus-sess-q0
    # 3. A shared subscription: two members of \$share/g, four messages, each to exactly one member.
    bg sess-share "${py[@]}" share
    local share_pid=$BG_PID
    wait_until "the shared subscribers" 15 grep -qsx READY "$WORK/sess-share.out"
    for i in 1 2 3 4; do
      run "shared publish $i" 15 mosquitto_pub "${base[@]}" -V mqttv311 -i corpus-sess-share-pub -t "corpus/sess/shared/m$i" -m "shared message $i" -q 1
    done
    wait_pid "$share_pid" 20 "the shared subscribers"
    ((WAIT_RC == 0)) || die "shared subscribers failed: $(cat "$WORK/sess-share.out")"
    # 4. A persistent QoS 1 subscriber killed with two PUBLISH unacknowledged, a third queued while it is away; its
    #    reconnect (Clean Session 0) gets the two again with DUP=1 and the same packet ids, then the third.
    bg sess-pa "${py[@]}" persist-a
    local pa_pid=$BG_PID
    wait_until "corpus-sess-psub to subscribe" 15 grep -qsx READY "$WORK/sess-pa.out"
    for i in 1 2; do
      run "in-flight publish $i" 15 mosquitto_pub "${base[@]}" -i "corpus-sess-inflight-pub$i" -t corpus/sess/inflight/a -m "in-flight message $i" -q 1
    done
    wait_until "corpus-sess-psub to receive 2" 15 grep -qsx 'GOT 2' "$WORK/sess-pa.out"
    kill_and_reap "$pa_pid"
    wait_until "the broker to see corpus-sess-psub gone" 10 log_has_n "Client corpus-sess-psub closed its connection" 1
    run "queued publish 3" 15 mosquitto_pub "${base[@]}" -i corpus-sess-inflight-pub3 -t corpus/sess/inflight/a -m 'queued message 3' -q 1
    run "corpus-sess-psub reconnects" 20 "${py[@]}" persist-b
    # 5. ClientId takeovers, 3.1.1 and 5.0 (the 5.0 victim's Will is published: the clean takeover ends its session).
    run "takeovers" 20 "${py[@]}" takeover
    # 6. A Will fired: mosquitto_sub (3.1.1) with a Will, killed with SIGKILL.
    bg sess-kill mosquitto_sub "${base[@]}" -V mqttv311 -i corpus-sess-will-kill -t corpus/sess/holder -q 0 -W 30 \
      --will-topic corpus/sess/will/kill --will-payload 'corpus-sess-will-kill lost' --will-qos 1
    local kill_pid=$BG_PID
    wait_suback corpus-sess-will-kill
    # Past the 5 s Will window of corpus-sess-will-bye (the watcher still connected), so the capture decides it.
    sleep 4
    kill_and_reap "$kill_pid"
    wait_pid "$watch_pid" 25 "mosquitto_sub corpus-sess-watch"
    ((WAIT_RC == 0)) || die "mosquitto_sub corpus-sess-watch failed ($WAIT_RC): $(cat "$WORK/sess-watch.err")"
    expect_lines "$WORK/sess-watch.out" 2 corpus-sess-watch
    grep -qF 'corpus/sess/will/twin5 corpus-sess-twin5 taken over' "$WORK/sess-watch.out" || die "Will of corpus-sess-twin5 missing"
    grep -qF 'corpus/sess/will/kill corpus-sess-will-kill lost' "$WORK/sess-watch.out" || die "Will of corpus-sess-will-kill missing"
  }

  # --- sessions across connections, 5.0 (issue 14): what test/e2e/cli-sessions-real.test.ts asserts of real-sessions-v5
  group_sessions5() {
    local base=(-h 127.0.0.1 -p 1883 -V mqttv5)
    local py=(/usr/bin/python3 "$SESS_CLIENTS" 127.0.0.1 1883)
    # 1. Message Expiry: a persistent subscriber (Session Expiry 300) is away 3 s while a message of 60 s and one of
    #    2 s are published; it comes back to the first with about 57 s left, and never gets the second.
    run "corpus-s5-exp subscribes" 15 mosquitto_sub "${base[@]}" -i corpus-s5-exp -c -x 300 -q 1 -t 'corpus/s5/exp/#' -E
    run "publish expiring in 60 s" 15 mosquitto_pub "${base[@]}" -i corpus-s5-exp-pub1 -t corpus/s5/exp/long -m 'expires in 60 s' -q 1 -D publish message-expiry-interval 60
    run "publish expiring in 2 s" 15 mosquitto_pub "${base[@]}" -i corpus-s5-exp-pub2 -t corpus/s5/exp/short -m 'expires in 2 s' -q 1 -D publish message-expiry-interval 2
    sleep 3
    bg s5-exp mosquitto_sub "${base[@]}" -i corpus-s5-exp -c -x 300 -q 1 -t 'corpus/s5/exp/#' -W 3 -v
    local exp_pid=$BG_PID
    wait_pid "$exp_pid" 10 "mosquitto_sub corpus-s5-exp"
    # mosquitto_sub -W ends with exit status 27 when its time is up.
    ((WAIT_RC == 0 || WAIT_RC == 27)) || die "mosquitto_sub corpus-s5-exp failed ($WAIT_RC): $(cat "$WORK/s5-exp.err")"
    expect_lines "$WORK/s5-exp.out" 1 corpus-s5-exp
    grep -qx 'corpus/s5/exp/long expires in 60 s' "$WORK/s5-exp.out" || die "corpus-s5-exp: $(cat "$WORK/s5-exp.out")"
    # 2. Subscription Identifiers: corpus/s5/ids/# (identifier 1) and corpus/s5/ids/+ (2) in two SUBSCRIBEs;
    #    mosquitto sends a copy per matching subscription, each with its own identifier.
    bg s5-ids "${py[@]}" ids
    local ids_pid=$BG_PID
    wait_until "corpus-s5-ids to subscribe" 15 grep -qsx READY "$WORK/s5-ids.out"
    run "publish to both filters" 15 mosquitto_pub "${base[@]}" -i corpus-s5-ids-pub -t corpus/s5/ids/a -m 'matches both filters'
    run "publish to one filter" 15 mosquitto_pub "${base[@]}" -i corpus-s5-ids-pub -t corpus/s5/ids/b/c -m 'matches the wildcard filter only'
    wait_pid "$ids_pid" 20 "corpus-s5-ids"
    ((WAIT_RC == 0)) || die "corpus-s5-ids failed: $(cat "$WORK/s5-ids.out")"
    grep -qx 'PUBLISH corpus/s5/ids/b/c ids=1' "$WORK/s5-ids.out" || die "corpus-s5-ids: $(cat "$WORK/s5-ids.out")"
    # 3. A 5.0 shared subscription: two members of \$share/g5, four messages, each to one member.
    local m share_pids=()
    for m in a b; do
      bg "s5-share-$m" mosquitto_sub "${base[@]}" -i "corpus-s5-share-$m" -t '$share/g5/corpus/s5/jobs/#' -q 1 -W 20 -v
      share_pids+=("$BG_PID")
      wait_suback "corpus-s5-share-$m"
    done
    local i
    for i in 1 2 3 4; do
      run "shared job $i" 15 mosquitto_pub "${base[@]}" -i corpus-s5-jobs-pub -t corpus/s5/jobs/resize -m "shared job $i" -q 1
    done
    wait_until "the four shared jobs" 10 bash -c '(($(cat "$0" "$1" | wc -l) >= 4))' "$WORK/s5-share-a.out" "$WORK/s5-share-b.out"
    sleep 0.5 # a copy to both members would show here
    (($(cat "$WORK/s5-share-a.out" "$WORK/s5-share-b.out" | wc -l) == 4)) || die "shared jobs: $(cat "$WORK/s5-share-a.out" "$WORK/s5-share-b.out")"
    # SIGINT: mosquitto_sub sends its DISCONNECT and exits.
    for m in "${share_pids[@]}"; do kill -INT "$m"; done
    for m in "${share_pids[@]}"; do wait_pid "$m" 10 "a shared member"; done
    # 4. Two devices, one ClientId (3.1.1): corpus-s5-twin from 127.0.0.1 and 127.0.0.2 in turn, 3 takeovers.
    run "takeovers back and forth" 20 "${py[@]}" twins
  }

  group_large() {
    local base=(-h 127.0.0.1 -p 1883 -V mqttv311)
    bg large-sub mosquitto_sub "${base[@]}" -i corpus-large-sub -t corpus/large/blob -q 1 -C 1 -N -W 20
    local sub_pid=$BG_PID
    wait_suback corpus-large-sub
    run "mosquitto_pub 200 KiB" 20 mosquitto_pub "${base[@]}" -i corpus-large-pub -t corpus/large/blob \
      -f "$WORK/blob.bin" -q 1
    wait_pid "$sub_pid" 25 "mosquitto_sub corpus-large-sub"
    ((WAIT_RC == 0)) || die "mosquitto_sub corpus-large-sub failed ($WAIT_RC): $(cat "$WORK/large-sub.err")"
    cmp -s "$WORK/blob.bin" "$WORK/large-sub.out" || die "the subscriber did not receive the 200 KiB payload intact"
  }

  # Large JSON documents full of digits and binary payloads, captured from a few seconds after the clients
  # connected (issue 18, defect 5). MQTT.js logs every packet each client sent and received after its CONNACK
  # (real-midstream-json.clients.ndjson): what the capture may hold, to test the decoding against.
  group_midstream() { # TOOL IFACE FILE: this group starts the capture itself, late
    # Loopback moves a 200 KB document in well under a millisecond, so a capture would almost never start inside
    # one: a 500 KB/s rate limit keeps the connections busy (the burst must exceed loopback's 64 KiB segments).
    tc qdisc add dev lo root tbf rate 4mbit burst 256kb latency 2s || die "tc: cannot limit the loopback rate"
    bg midstream node "$CLIENTS" midstream --host 127.0.0.1 --port 1883 --seconds 4 \
      --log "$WORK/real-midstream-json.clients.ndjson"
    local pid=$BG_PID
    wait_until "the midstream clients to connect" 15 grep -qsx READY "$WORK/midstream.out"
    sleep 2
    start_capture "$1" "$2" "$3"
    wait_pid "$pid" 35 "the midstream clients"
    ((WAIT_RC == 0)) || die "midstream clients failed ($WAIT_RC): $(cat "$WORK/midstream.err")"
    tc qdisc del dev lo root || die "tc: cannot remove the loopback rate limit"
  }

  # --- MQTT over TLS ------------------------------------------------------------------------------
  # A CA, a server certificate for broker.corpus.test (and 127.0.0.1) and an expired one with the same key, all
  # made here: nothing secret leaves the work directory except the key logs of these sessions.
  make_tls_certs() {
    local T=$WORK/tls
    mkdir -p "$T/ca-db"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 3650 \
      -subj "/CN=mqtt-dissect corpus CA" 2>/dev/null || die "openssl: CA"
    openssl req -newkey rsa:2048 -nodes -keyout "$T/server.key" -out "$T/server.csr" \
      -subj "/CN=broker.corpus.test/O=mqtt-dissect corpus" 2>/dev/null || die "openssl: server key"
    printf 'subjectAltName=DNS:broker.corpus.test,IP:127.0.0.1\n' >"$T/ext.cnf"
    openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -out "$T/server.pem" \
      -days 3650 -extfile "$T/ext.cnf" 2>/dev/null || die "openssl: server certificate"
    # openssl ca can set both validity dates: a certificate that expired in 2021.
    : >"$T/ca-db/index.txt"
    echo 1000 >"$T/ca-db/serial"
    cat >"$T/ca.cnf" <<EOF
[ca]
default_ca = corpus
[corpus]
database = $T/ca-db/index.txt
new_certs_dir = $T/ca-db
serial = $T/ca-db/serial
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
EOF
    openssl ca -batch -config "$T/ca.cnf" -cert "$T/ca.pem" -keyfile "$T/ca.key" -in "$T/server.csr" \
      -out "$T/expired.pem" -startdate 20200101000000Z -enddate 20210101000000Z -notext 2>/dev/null ||
      die "openssl: expired certificate"
  }

  group_tls_mqttjs() {
    NODE_OPTIONS="--tls-keylog=$WORK/real-tls-mqttjs.keys" run "MQTT.js over TLS" 40 \
      node "$CLIENTS" tls --host 127.0.0.1 --port 8883 --ca "$WORK/tls/ca.pem"
  }

  # MQTT 3.1.1 bytes for s_client: CONNECT, a QoS 0 PUBLISH, a 3 KB QoS 1 PUBLISH, DISCONNECT (in DIR/*.bin).
  mqtt_bytes() { # CLIENT_ID DIR
    node -e '
      const fs = require("fs"); const [id, dir] = process.argv.slice(1);
      const str = (s) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]); };
      const vbi = (n) => { const o = []; do { let d = n % 128; n = Math.floor(n / 128); if (n > 0) d |= 128; o.push(d); } while (n > 0); return Buffer.from(o); };
      const pkt = (h, body) => Buffer.concat([Buffer.from([h]), vbi(body.length), body]);
      const topic = str(`corpus/tls/${id}`);
      fs.writeFileSync(`${dir}/connect.bin`, pkt(0x10, Buffer.concat([str("MQTT"), Buffer.from([4, 2, 0, 60]), str(id)])));
      fs.writeFileSync(`${dir}/pub1.bin`, pkt(0x30, Buffer.concat([topic, Buffer.from(`${id} first`)])));
      fs.writeFileSync(`${dir}/pub2.bin`, pkt(0x32, Buffer.concat([topic, Buffer.from([0, 1]), Buffer.from(`${id} second `), Buffer.alloc(3000, 0x61)])));
      fs.writeFileSync(`${dir}/disc.bin`, Buffer.from([0xe0, 0]));' "$1" "$2"
  }

  # s_client ID PORT KEYUPDATE(0|1) OPENSSL-ARGS... : one MQTT session written through openssl s_client; with
  # KEYUPDATE a "K" line between the PUBLISHes makes s_client send a TLS 1.3 KeyUpdate.
  s_client() {
    local id=$1 port=$2 ku=$3
    shift 3
    local d="$WORK/sc-$id"
    mkdir -p "$d"
    mqtt_bytes "$id" "$d"
    local rc=0
    {
      cat "$d/connect.bin"; sleep 0.3; cat "$d/pub1.bin"; sleep 0.3
      if [[ "$ku" == 1 ]]; then printf 'K\n'; sleep 0.3; fi
      cat "$d/pub2.bin"; sleep 0.3; cat "$d/disc.bin"; sleep 0.4
    } | timeout -k 2 10 openssl s_client -connect "127.0.0.1:$port" -servername broker.corpus.test \
      -CAfile "$WORK/tls/ca.pem" -keylogfile "$WORK/real-tls-openssl.keys" "$@" >"$d/out" 2>"$d/err" || rc=$?
    ((rc == 0)) || die "s_client $id failed ($rc): $(cat "$d/err")"
    grep -aqE '^(New|Reused), ' "$d/out" || die "s_client $id: no TLS session: $(cat "$d/err")"
  }

  group_tls_openssl() {
    s_client cbc-sha-etm 8883 0 -tls1_2 -cipher ECDHE-RSA-AES128-SHA
    s_client cbc-sha256-mte 8883 0 -tls1_2 -cipher AES256-SHA256 -no_etm
    s_client ccm 8883 0 -tls1_2 -cipher AES128-CCM
    s_client ccm8 8883 0 -tls1_2 -cipher AES256-CCM8
    s_client resume-first 8883 0 -tls1_2 -cipher ECDHE-RSA-AES256-SHA384 -sess_out "$WORK/sess.pem"
    s_client resume-again 8883 0 -tls1_2 -cipher ECDHE-RSA-AES256-SHA384 -sess_in "$WORK/sess.pem"
    grep -aq '^Reused, ' "$WORK/sc-resume-again/out" || die "s_client resume-again: the session was not resumed"
    s_client tls13-ccm8-keyupdate 8883 1 -tls1_3 -ciphersuites TLS_AES_128_CCM_8_SHA256
    s_client tls11-cbc 8884 0 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
    s_client tls11-null 8884 0 -tls1_1 -cipher 'NULL-SHA:@SECLEVEL=0'
    s_client expired-cert 8885 0 -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
    # Plaintext MQTT on the TLS port: a CONNECT where a ClientHello belongs (the broker drops the connection).
    local d="$WORK/sc-plain"
    mkdir -p "$d"
    mqtt_bytes corpus-plain-8883 "$d"
    timeout -k 2 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8883; cat "$1" >&3; sleep 0.5; cat <&3 >/dev/null 2>&1 || true' _ "$d/connect.bin" || true
  }

  # MQTT over WebSocket: MQTT.js (its `ws` client) to mosquitto's websockets listener.
  group_ws() {
    run "MQTT.js ws" 45 node "$CLIENTS" ws --host 127.0.0.1 --port 8080
  }

  # MQTT over WebSocket with permessage-deflate: MQTT.js to the ws-deflate bridge on 8083, which relays to 1883.
  group_ws_deflate() {
    bg ws-deflate-bridge node "$ROOT/scripts/ws-deflate-bridge.mjs" 8083 1883
    local bridge=$BG_PID
    wait_until "the ws-deflate bridge to listen on 8083" 10 grep -qsF LISTENING "$WORK/ws-deflate-bridge.out"
    run "MQTT.js ws with permessage-deflate" 45 node "$CLIENTS" ws-deflate --host 127.0.0.1 --port 8083
    kill -TERM "$bridge" 2>/dev/null || true
    wait_pid "$bridge" 10 "ws-deflate bridge"
  }

  # MQTT over WebSocket inside TLS: MQTT.js over wss:// to mosquitto's TLS websockets listener, with Node's key log.
  group_wss() {
    NODE_OPTIONS="--tls-keylog=$WORK/real-wss-8084.keys" run "MQTT.js wss" 45 \
      node "$CLIENTS" wss --host 127.0.0.1 --port 8084 --ca "$WORK/tls/ca.pem"
  }

  # Sparkplug B (issue 17): a primary host application (MQTT.js 5.0) and Eclipse Tahu's edge node client
  # (sparkplug-client, MQTT 3.1.1), scripts/corpus-sparkplug.mjs. Both append what they publish to
  # real-sparkplug.expected.ndjson. The host checks every message it receives and prints ALL-RECEIVED after the burst;
  # the edge node prints DONE and is then killed with SIGKILL, so the broker publishes its NDEATH Will to the host,
  # which publishes its STATE death and disconnects.
  group_sparkplug() {
    local sp=(node "$SPARKPLUG")
    local elog="$WORK/real-sparkplug.expected.ndjson"
    : >"$elog"
    # out_or_exit LINE FILE PID: FILE has the line LINE, or PID has exited (then the caller's check below fails at once)
    out_or_exit() { grep -qsx "$1" "$2" || ! kill -0 "$3" 2>/dev/null; }
    bg sp-host "${sp[@]}" host --host 127.0.0.1 --port 1883 --log "$elog"
    local host_pid=$BG_PID
    wait_until "the Sparkplug host to come online" 15 out_or_exit READY "$WORK/sp-host.out" "$host_pid"
    grep -qsx READY "$WORK/sp-host.out" || die "Sparkplug host failed: $(cat "$WORK/sp-host.err")"
    bg sp-edge "${sp[@]}" edge --host 127.0.0.1 --port 1883 --log "$elog"
    local edge_pid=$BG_PID
    wait_until "the Sparkplug host to receive the edge node's messages" 40 out_or_exit ALL-RECEIVED "$WORK/sp-host.out" "$host_pid"
    grep -qsx ALL-RECEIVED "$WORK/sp-host.out" || die "Sparkplug host failed: $(cat "$WORK/sp-host.err") / edge: $(cat "$WORK/sp-edge.err")"
    wait_until "the Sparkplug edge node to finish" 10 out_or_exit DONE "$WORK/sp-edge.out" "$edge_pid"
    grep -qsx DONE "$WORK/sp-edge.out" || die "Sparkplug edge node failed: $(cat "$WORK/sp-edge.err")"
    kill_and_reap "$edge_pid"
    wait_pid "$host_pid" 20 "the Sparkplug host"
    # The host exits 0 only after it received the NDEATH Will with the NBIRTH's bdSeq and its STATE death's echo.
    ((WAIT_RC == 0)) || die "Sparkplug host failed ($WAIT_RC): $(cat "$WORK/sp-host.err")"
  }

  ip link set lo up
  make_tls_certs
  mosquitto_passwd -c -b "$WORK/passwd" "$ONENET_USER" "$ONENET_TOKEN" >/dev/null 2>&1 ||
    die "mosquitto_passwd failed"
  # Deterministic 200 KiB payload (32-bit LCG bytes).
  node -e '
    const n = Number(process.argv[1]); const b = Buffer.alloc(n); let x = 0x2545f491;
    for (let i = 0; i < n; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; b[i] = x >>> 24; }
    require("fs").writeFileSync(process.argv[2], b);' "$LARGE_BYTES" "$WORK/blob.bin"

  for entry in "${CAPTURES[@]}"; do
    IFS='|' read -r file tool _link group <<<"$entry"
    read -r tname iface_flag iface <<<"$tool"
    [[ -z "${MAKE_CAPTURES_ONLY:-}" || " $MAKE_CAPTURES_ONLY " == *" $file "* ]] || continue
    if [[ "$group" == derived_dsb ]]; then
      # The openssl capture with its key log in a pcapng Decryption Secrets Block (needs that capture first).
      [[ -s "$WORK/real-tls-openssl.pcap" ]] || die "$file is made from real-tls-openssl.pcap: record that too (--only)"
      editcap --inject-secrets "tls,$WORK/real-tls-openssl.keys" -F pcapng "$WORK/real-tls-openssl.pcap" "$WORK/$file" ||
        die "editcap --inject-secrets failed"
      continue
    fi
    log "recording $file ($tool)"
    start_broker "${group#group_}"
    # tcpdump writes plain pcap; a .gz capture is compressed once written.
    raw="$WORK/${file%.gz}"
    if [[ "$group" == group_midstream ]]; then
      "$group" "$tname" "$iface" "$raw"
    else
      start_capture "$tname" "$iface" "$raw"
      "$group"
    fi
    stop_capture "$raw"
    stop_broker
    [[ "$file" == *.gz ]] && gzip -9 -n "$raw"
  done
  exit 0
fi

# =============================================================================================
# Outer part: dependencies, namespace, checks, manifest.
# =============================================================================================

OUT_DIR="$ROOT/captures"
CHECK=0
ONLY=()
while (($#)); do
  case "$1" in
  --check) CHECK=1 ;;
  --only)
    ONLY+=("${2:?--only needs a capture file name}")
    shift
    ;;
  --out)
    OUT_DIR=${2:?--out needs a directory}
    shift
    ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

if ((${#ONLY[@]})); then
  for o in "${ONLY[@]}"; do
    printf '%s\n' "${CAPTURES[@]}" | grep -q "^$o|" || die "--only $o: no such capture"
  done
fi
# selected FILE: true when FILE is regenerated by this run
selected() { ((${#ONLY[@]} == 0)) || [[ " ${ONLY[*]} " == *" $1 "* ]]; }

START=$SECONDS
((EUID == 0)) || die "must run as root (apt-get, ip netns, packet capture)"

# --- dependencies -----------------------------------------------------------------------------
need_pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
need mosquitto mosquitto
need mosquitto_pub mosquitto-clients
need mosquitto_sub mosquitto-clients
need mosquitto_passwd mosquitto
need tcpdump tcpdump
need dumpcap tshark
need tshark tshark
need ip iproute2
need tc iproute2
need timeout coreutils
need cmp diffutils
need openssl openssl
need editcap wireshark-common
if ((${#need_pkgs[@]})); then
  mapfile -t need_pkgs < <(printf '%s\n' "${need_pkgs[@]}" | sort -u)
  log "installing ${need_pkgs[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq || die "apt-get update failed"
  timeout 900 apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null ||
    die "apt-get install ${need_pkgs[*]} failed"
fi
command -v node >/dev/null 2>&1 || die "node (>= 20) is required"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  die "node >= 20 is required (found $(node --version))"
[[ -f "$ROOT/node_modules/mqtt/package.json" ]] ||
  die "MQTT.js is missing: run 'npm ci' in $ROOT first (dev dependency 'mqtt')"
[[ -f "$ROOT/node_modules/sparkplug-client/package.json" && -f "$ROOT/node_modules/sparkplug-payload/package.json" ]] ||
  die "sparkplug-client / sparkplug-payload are missing: run 'npm ci' in $ROOT first (dev dependencies)"

# --- run the scenarios in a private network namespace ------------------------------------------
WORK=$(mktemp -d /tmp/mqtt-corpus.XXXXXX)
NS="mqtt-corpus-$$"
outer_cleanup() {
  if ip netns list 2>/dev/null | grep -qw "$NS"; then
    local p
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
  fi
  if [[ -n "${KEEP_WORK:-}" ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap outer_cleanup EXIT
ip netns add "$NS" || die "cannot create network namespace $NS (need root / CAP_SYS_ADMIN)"

log "running the scenarios in network namespace $NS (work dir $WORK)"
rc=0
MAKE_CAPTURES_INNER=1 MAKE_CAPTURES_WORK="$WORK" MAKE_CAPTURES_ONLY="${ONLY[*]:-}" timeout -k 5 300 ip netns exec "$NS" bash "$SELF" || rc=$?
((rc == 0)) || die "recording failed (status $rc)${KEEP_WORK:+; see $WORK}"

# --- check the captures with tshark -------------------------------------------------------------
TSHARK=(tshark -n -d 'tcp.port==6002,mqtt' -d 'tcp.port==8080,http' -d 'tcp.port==8083,http')
# tshark_for FILE: TSHARK plus, for a TLS capture, its key log and the TLS ports beyond 8883
tshark_for() {
  TSHARK_F=("${TSHARK[@]}")
  local k
  k=$(keys_of "$(basename "$1")")
  [[ -n "$k" ]] && TSHARK_F+=(-o "tls.keylog_file:$(dirname "$1")/$k")
  if [[ "$(basename "$1")" == real-tls-* ]]; then
    TSHARK_F+=(-d tcp.port==8884,tls -d tls.port==8884,mqtt -d tcp.port==8885,tls -d tls.port==8885,mqtt)
  fi
  # wss: tshark has no TLS port 8084; inside it, an HTTP Upgrade to WebSocket.
  if [[ "$(basename "$1")" == real-wss-8084.pcap ]]; then
    TSHARK_F+=(-d tcp.port==8084,tls -d tls.port==8084,http)
  fi
}

# counts FILE -> "CONNECT=n, CONNACK=n, ..." in packet-type order. tshark 4.0 does not hand WebSocket payloads to its
# MQTT dissector: for a WebSocket capture (real-ws-PORT.pcap) the payloads tshark unmasked are joined per direction
# into a plain TCP capture first (scripts/ws-unwrap.mjs), which tshark then decodes as MQTT.
counts() {
  local line n t out=() src=$1
  tshark_for "$1"
  if [[ "$(basename "$1")" =~ ^real-wss?-([0-9]+)\.pcap$ ]]; then
    # tshark unmasks the frames but does not decode their MQTT: ws-unwrap.mjs joins its payloads into a TCP capture
    # (for wss, after decrypting with the key log shipped next to the capture).
    local port=${BASH_REMATCH[1]} k
    src="$WORK/$(basename "$1").unwrapped.pcap"
    k=$(keys_of "$(basename "$1")")
    node "$ROOT/scripts/ws-unwrap.mjs" "$1" "$port" "$src" ${k:+"$(dirname "$1")/$k"} 2>/dev/null || die "ws-unwrap failed on $1"
    TSHARK_F=(tshark -n -d "tcp.port==$port,mqtt")
  fi
  while read -r n t; do
    [[ -n "$t" ]] || continue
    out+=("${MSGTYPE_NAMES[$t]}=$n")
  done < <("${TSHARK_F[@]}" -r "$src" -Y mqtt -T fields -e mqtt.msgtype 2>/dev/null | tr ',' '\n' | sort -n | uniq -c)
  local IFS=,
  line="${out[*]}"
  echo "${line//,/, }"
}

declare -A COUNTS
for entry in "${CAPTURES[@]}"; do
  IFS='|' read -r file _ _ _ <<<"$entry"
  if ! selected "$file"; then
    # Not regenerated: its row of MANIFEST.md stays as it is.
    COUNTS[$file]=$(grep -F "| \`$file\` |" "$ROOT/captures/MANIFEST.md" | awk -F'|' '{print $(NF-1)}' | sed 's/^ *//; s/ *$//')
    continue
  fi
  f="$WORK/$file"
  [[ -s "$f" ]] || die "$file was not written"
  c=$(counts "$f")
  [[ -n "$c" ]] || die "$file: tshark finds no MQTT packets"
  COUNTS[$file]=$c
  for t in $(required_types "$file"); do
    [[ ", $c," == *", $t="* ]] || die "$file: no $t packet (tshark counts: $c)"
  done
  if [[ "$file" == "$MIDSTREAM" ]]; then
    log "$file: $(stat -c %s "$f") bytes; started mid-stream, tshark's framing not checked; $c"
    continue
  fi
  # Malformed packets and expert infos of severity Warning (0x600000) or Error (0x800000), less
  # TCP flow control: the 200 KiB PUBLISH fills the subscriber's receive window on purpose
  # (real back-pressure), which tshark flags as "window full" / "zero window" warnings; and less
  # D-SACKs of spurious retransmissions (seen once on a machine under load, test/e2e/corpus-script).
  tshark_for "$f"
  if [[ "$file" == real-tls-* ]]; then
    # The TLS captures hold what the findings are about (TLS 1.1, NULL, an expired certificate, plaintext on 8883):
    # only malformed MQTT is refused there.
    bad=$("${TSHARK_F[@]}" -r "$f" -Y 'mqtt && _ws.malformed' -T fields -e frame.number 2>/dev/null | head -5)
    [[ -z "$bad" ]] || die "$file: tshark reports malformed MQTT in frames $bad"
    log "$file: $(stat -c %s "$f") bytes; $c"
    continue
  fi
  experts=$("${TSHARK_F[@]}" -r "$f" -Y '_ws.malformed || _ws.expert.severity >= 0x00600000' -T fields \
    -E aggregator='|' -e frame.number -e _ws.expert.severity -e _ws.expert.message -e _ws.malformed -e mqtt.topic 2>/dev/null)
  # MQTT.js over WebSocket (the ws library) ends its TCP connection with a RST after the close frames.
  ws=0
  [[ "$file" == real-ws-* || "$file" == real-wss-* ]] && ws=1
  # tshark 4.0's SparkplugB dissector predates Sparkplug 3.0's STATE topic: it reads spBv1.0/STATE/HOST_ID as group
  # "STATE" and message type HOST_ID, and marks the PUBLISH malformed ("Missing Edge Node ID"). Allowed in the
  # Sparkplug capture for a frame that holds one PUBLISH to spBv1.0/STATE/... and has no other expert info.
  sp=0
  [[ "$file" == real-sparkplug.pcap ]] && sp=1
  bad=$(awk -F'\t' -v ws="$ws" -v sp="$sp" '
    {
      if (sp == 1 && $5 ~ /^spBv1\.0\/STATE\/[^|]+$/ && $3 ~ /^Missing Edge Node ID$/) next
      if ($4 != "") { print; next }
      ns = split($2, sev, "|"); split($3, msg, "|")
      for (i = 1; i <= ns; i++) {
        if (sev[i] + 0 < 6291456) continue
        if (msg[i] ~ /^TCP window specified by the receiver is now completely full$|^TCP Zero Window segment$/) continue
        # A duplicate SACK: the kernel retransmitted a segment the receiver already had (a loaded machine delays
        # loopback ACKs past the retransmission timer). Real transport behaviour, not a defect of the capture.
        if (msg[i] ~ /^D-SACK Sequence$/) continue
        if (ws == 1 && msg[i] ~ /^Connection reset \(RST\)$/) continue
        print $1 "\t" msg[i]
      }
    }' <<<"$experts" | head -20)
  [[ -z "$bad" ]] || die "$file: tshark reports malformed packets or expert warnings/errors:
$bad"
  allowed=$(grep -c . <<<"$experts" || true)
  if ((allowed > 0)); then
    if ((sp)); then
      log "$file: $allowed frame(s) with tshark's SparkplugB \"Missing Edge Node ID\" on Sparkplug 3.0 STATE (tshark 4.0 predates it)"
    else
      log "$file: $allowed frame(s) with TCP window-full/zero-window warnings (expected flow control)"
    fi
  fi
  log "$file: $(stat -c %s "$f") bytes; $c"
done

# --- install the captures and the manifest -------------------------------------------------------
NODE_SHA=$(sha256sum "$WORK/blob.bin" | cut -d' ' -f1)
pkg_version() { node -p 'require(process.argv[1]).version' "$ROOT/node_modules/$1/package.json"; }
SP_CLIENT_VERSION=$(pkg_version sparkplug-client)
SP_PAYLOAD_VERSION=$(pkg_version sparkplug-payload)
SP_MQTT_VERSION=$(node -p 'require(process.argv[1]).version' "$ROOT/node_modules/sparkplug-client/node_modules/mqtt/package.json" 2>/dev/null || echo '?')
SP_BURST=$(sed -n 's/^const BURST = \([0-9]*\);.*/\1/p' "$SPARKPLUG")

describe() {
  case "$1" in
  real-v311-qos.pcap)
    echo "MQTT 3.1.1 over 127.0.0.1:1883. mosquitto_sub \`corpus-v311-sub\` subscribes \`corpus/v311/qos/#\` at QoS 2 and receives what \`corpus-v311-pub-q0/q1/q2\` publish to \`corpus/v311/qos/q0..q2\` at QoS 0/1/2 (QoS 1 and 2 flows in both directions: PUBACK, PUBREC/PUBREL/PUBCOMP); \`corpus-v311-retain\` sets a retained message on \`corpus/v311/retained/state\` (QoS 1), late subscriber \`corpus-v311-late\` receives it with RETAIN=1, \`corpus-v311-clear\` clears it (empty retained PUBLISH); MQTT.js \`corpus-js-v311\` subscribes \`corpus/v311/js/a\` (QoS 1) + \`corpus/v311/js/b\` (QoS 2) in one SUBSCRIBE, publishes to itself (QoS 1), PINGREQ/PINGRESP, UNSUBSCRIBE both, DISCONNECT."
    ;;
  real-v31-sll2.pcap)
    echo "MQTT 3.1 (protocol name MQIsdp, level 3) over IPv6 [::1]:1883; same scenario as real-v311-qos with \`v31\` in every client id and topic: \`corpus-v31-sub\` (QoS 2 on \`corpus/v31/qos/#\`) receives QoS 0/1/2 from \`corpus-v31-pub-q0/q1/q2\`; retained \`corpus/v31/retained/state\` set by \`corpus-v31-retain\`, received by \`corpus-v31-late\`, cleared by \`corpus-v31-clear\`; MQTT.js \`corpus-js-v31\`: SUBSCRIBE 2 filters, self-PUBLISH QoS 1, PINGREQ/PINGRESP, UNSUBSCRIBE, DISCONNECT."
    ;;
  real-v5-props.pcapng)
    echo "MQTT 5.0 over 127.0.0.1:1883. mosquitto_sub \`corpus-v5-msub\` (CONNECT session expiry 30 + user property; SUBSCRIBE subscription identifier 5, QoS 2 on \`corpus/v5/qos/#\`) receives QoS 0/1/2 from \`corpus-v5-mpub-q0/q1/q2\` (user property + content type; message expiry + payload format; response topic + correlation data); retained \`corpus/v5/retained/state\` (message expiry 600) set/received by \`corpus-v5-late\`/cleared. MQTT.js \`corpus-v5-sub\` (session expiry 300, receive maximum, maximum packet size, topic alias maximum, user properties) subscribes \`corpus/v5/props/#\` (subscription id 42, user property) and \`corpus/v5/alias/+\` (id 7, QoS 2, no-local, retain-as-published); \`corpus-v5-pub\` (session expiry 60) subscribes \`corpus/v5/reply/corpus-v5-pub\` (id 9), publishes \`corpus/v5/props/meta\` (QoS 1, JSON, content type, payload format, message expiry 3600, user properties) and a request \`corpus/v5/props/request\` (QoS 2, response topic + correlation data \`corr-0001\`) that \`corpus-v5-sub\` answers (QoS 1, same correlation data); client-to-server topic aliases: alias 1 = \`corpus/v5/alias/a\` then used with an empty topic name (QoS 1), alias 2 = \`corpus/v5/alias/b\` (QoS 2) then used with an empty topic name; UNSUBSCRIBE of both filters with a user property (UNSUBACK with reason codes); DISCONNECT with reason string / with session expiry 0."
    ;;
  real-onenet-6002.pcap)
    echo "OneNET-style authenticated listener 127.0.0.1:6002 (decode with \`-d tcp.port==6002,mqtt\`). Three refused logins by \`dev-0001\`: MQTT 3.1.1 wrong password (CONNACK return code 5, not authorized), MQTT 5.0 wrong password (CONNACK reason 0x87 Not authorized), MQTT 3.1.1 without user name (CONNACK 5); the broker closes each connection after the CONNACK. Good logins (user \`$ONENET_USER\`, password = a OneNET-style token): application \`onenet-app\` (3.1.1) subscribes \`\$sys/$ONENET_USER/+/dp/post/json\` at QoS 1; device \`dev-0001\` publishes to \`\$sys/$ONENET_USER/dev-0001/dp/post/json\` at QoS 1 once with 3.1.1 and once with 5.0; the application receives both."
    ;;
  real-will-kill.pcapng)
    echo "Wills over 127.0.0.1:1883. Watcher \`corpus-will-watch\` (mosquitto_sub, MQTT 5.0) subscribes \`corpus/will/#\` at QoS 1. mosquitto_sub \`corpus-will-v311\` (MQTT 3.1.1, will \`corpus/will/v311\` QoS 1 'corpus-will-v311 lost', subscribed to \`corpus/will-holder/v311\`) is killed with SIGKILL: its connection ends with FIN and no DISCONNECT, and the broker publishes the will to the watcher. MQTT.js \`corpus-will-v5\` (MQTT 5.0, will \`corpus/will/v5\` QoS 1 with will properties: will delay 0, payload format, message expiry 600, content type, user properties) is killed the same way; the watcher receives both wills (QoS 1, PUBACK) and disconnects."
    ;;
  real-sessions.pcap)
    echo "Sessions across connections over 127.0.0.1:1883 (scripts/corpus-sessions.py for the raw-socket clients). Watcher \`corpus-sess-watch\` (3.1.1) subscribes \`corpus/sess/will/#\` at QoS 1 and receives exactly two Wills. 1: mosquitto_sub \`corpus-sess-will-bye\` (5.0, Will \`corpus/sess/will/bye\`) receives one message and ends with DISCONNECT 0x00: its Will is not published. 2: \`corpus-sess-q0\` subscribes \`corpus/sess/down\` at QoS 0 and receives two QoS 1 messages from \`corpus-sess-down-pub1/2\` at QoS 0. 3: paho \`corpus-sess-share-a\`/\`-b\` subscribe \`\$share/g/corpus/sess/shared/#\` (QoS 1); \`corpus-sess-share-pub\` publishes \`shared message 1..4\`, each reaches one member. 4: persistent \`corpus-sess-psub\` (3.1.1, Clean Session 0, QoS 1 on \`corpus/sess/inflight/#\`) receives \`in-flight message 1\` and \`2\` without acknowledging them and is killed (SIGKILL); \`queued message 3\` is published while it is away; it reconnects (Session Present 1) and gets 1 and 2 again with DUP=1 and their packet ids, then 3, acknowledges all and disconnects. 5: ClientId takeovers: \`corpus-sess-twin4\` (3.1.1) connects twice, the broker closes the first connection; \`corpus-sess-twin5\` (5.0, Will \`corpus/sess/will/twin5\`, Will Delay 0, Session Expiry 0) connects twice with Clean Start 1, the broker closes the first (mosquitto 2.0.11 sends no DISCONNECT 0x8E before) and publishes its Will. 6: mosquitto_sub \`corpus-sess-will-kill\` (3.1.1, Will \`corpus/sess/will/kill\`) is killed with SIGKILL and its Will is published."
    ;;
  real-sessions-v5.pcap)
    echo "Sessions across connections, mostly MQTT 5.0, over 127.0.0.1:1883 (scripts/corpus-sessions.py for the raw-socket clients). 1: persistent mosquitto_sub \`corpus-s5-exp\` (Session Expiry 300, QoS 1 on \`corpus/s5/exp/#\`) subscribes and leaves; \`corpus/s5/exp/long\` (Message Expiry Interval 60) and \`corpus/s5/exp/short\` (2) are published; 3 s later it comes back (Session Present 1) and gets the first with about 57 s left, never the second. 2: \`corpus-s5-ids\` subscribes \`corpus/s5/ids/#\` (Subscription Identifier 1) and \`corpus/s5/ids/+\` (2) in two SUBSCRIBEs; \`corpus/s5/ids/a\` reaches it as two copies, one with each identifier, \`corpus/s5/ids/b/c\` once with 1. 3: mosquitto_sub \`corpus-s5-share-a\`/\`-b\` subscribe \`\$share/g5/corpus/s5/jobs/#\` (QoS 1); \`shared job 1..4\` each reach one member. 4: two devices with ClientId \`corpus-s5-twin\` (3.1.1) connect in turn from 127.0.0.1 and 127.0.0.2, four connections: each takes the session over and the broker closes the other's (3 takeovers back and forth)."
    ;;
  real-large-200k.pcap)
    echo "MQTT 3.1.1 over 127.0.0.1:1883. \`corpus-large-sub\` subscribes \`corpus/large/blob\` at QoS 1; \`corpus-large-pub\` publishes a $LARGE_BYTES-byte (200 KiB) payload at QoS 1 (deterministic LCG bytes, sha256 \`$NODE_SHA\`); the PUBLISH spans several TCP segments in each direction (client to broker, broker to subscriber)."
    ;;
  real-ws-8080.pcap)
    echo "MQTT over WebSocket: mosquitto's \`protocol websockets\` listener 127.0.0.1:8080 and MQTT.js over \`ws://127.0.0.1:8080/mqtt\` (subprotocol \`mqtt\`; client frames masked; decode with \`-d tcp.port==8080,http\`). \`corpus-ws-sub\` (3.1.1) subscribes \`corpus/ws/#\` at QoS 2; \`corpus-ws-pub\` (5.0) publishes to \`corpus/ws/q0..q2\` at QoS 0/1/2, a 300-byte payload to \`corpus/ws/medium\` (16-bit frame length) and a 70,000-byte one to \`corpus/ws/large\` (64-bit frame length, spread over many TCP segments), QoS 1; the subscriber receives all five, sends PINGREQ, UNSUBSCRIBE, DISCONNECT."
    ;;
  real-ws-8083.pcap)
    echo "MQTT over WebSocket with permessage-deflate (RFC 7692): \`scripts/ws-deflate-bridge.mjs\` (the \`ws\` library) on 127.0.0.1:8083 accepts \`permessage-deflate; client_max_window_bits=10\` and relays each connection to mosquitto on 1883 (those relayed connections are in the capture too, as plain MQTT); MQTT.js over \`ws://127.0.0.1:8083/mqtt\` offers the extension and compresses every message (threshold 0), the bridge every message it sends, both with context takeover (later messages refer back to earlier ones); decode with \`-d tcp.port==8083,http\` (tshark inflates: \`websocket.decompress\`). The real-ws-8080 scenario with \`wsz\` in every name: \`corpus-wsz-sub\` (3.1.1) subscribes \`corpus/wsz/#\` at QoS 2; \`corpus-wsz-pub\` (5.0) publishes to \`corpus/wsz/q0..q2\` at QoS 0/1/2, a 300-byte payload to \`corpus/wsz/medium\` and a 70,000-byte one to \`corpus/wsz/large\`, QoS 1; the subscriber receives all five, sends PINGREQ, UNSUBSCRIBE, DISCONNECT."
    ;;
  real-wss-8084.pcap)
    echo "MQTT over WebSocket inside TLS (wss): mosquitto's \`protocol websockets\` listener 127.0.0.1:8084 with \`certfile\`/\`keyfile\` (the corpus certificate for \`broker.corpus.test\`) and MQTT.js over \`wss://127.0.0.1:8084/mqtt\` (SNI broker.corpus.test, subprotocol \`mqtt\`, client frames masked) with Node's key log (\`NODE_OPTIONS=--tls-keylog\`, shipped as \`real-wss-8084.keys\`; decode with \`-o tls.keylog_file:real-wss-8084.keys -d tcp.port==8084,tls -d tls.port==8084,http\`). The real-ws-8080 scenario with \`wss\` in every name: \`corpus-wss-sub\` (3.1.1) subscribes \`corpus/wss/#\` at QoS 2; \`corpus-wss-pub\` (5.0) publishes to \`corpus/wss/q0..q2\` at QoS 0/1/2, a 300-byte payload to \`corpus/wss/medium\` and a 70,000-byte one to \`corpus/wss/large\` (64-bit frame length, over several TLS records and TCP segments), QoS 1; the subscriber receives all five, sends PINGREQ, UNSUBSCRIBE, DISCONNECT."
    ;;
  real-midstream-json.pcap.gz)
    echo "MQTT 3.1.1 and 5.0 over 127.0.0.1:1883, captured from 2 s after the clients connected (no SYN, no CONNECT): MQTT.js publishers \`corpus-mid-json-v311\` and \`corpus-mid-json-v5\` send a 100-200 KB JSON document full of decimal digits every 500 ms (QoS 0 and 1 alternately), \`corpus-mid-bin-v311\` / \`corpus-mid-bin-v5\` 10-60 KB binary payloads (QoS 1/2, 2/0); \`corpus-mid-sub-v311\` receives \`corpus/mid/json/v311\` (QoS 1), \`corpus-mid-sub-v5\` \`corpus/mid/bin/v5\` (QoS 2); all disconnect after 4 s; loopback limited to 500 KB/s with \`tc\` so the connections are busy when the capture starts. \`real-midstream-json.clients.ndjson\` lists every packet each client sent and received after its CONNACK (port, direction, type, packet id, topic, payload length and SHA-256). The counts are tshark's, which frames every segment start as a packet: not what the clients sent, and they vary between runs."
    ;;
  real-tls-mqttjs.pcapng)
    echo "MQTT over TLS, mosquitto listener 127.0.0.1:8883 with a certificate for \`broker.corpus.test\` from a CA made by the script; MQTT.js over \`mqtts://\` (SNI broker.corpus.test, ALPN \`mqtt\` offered) with Node's key log (\`NODE_OPTIONS=--tls-keylog\`, shipped as \`real-tls-mqttjs.keys\`), one connection per forced TLS version and suite: TLS 1.3 AES-128-GCM (3.1.1), AES-256-GCM (5.0), CHACHA20-POLY1305 (5.0), AES-128-CCM (3.1.1); TLS 1.2 ECDHE-RSA AES-128-GCM (3.1.1), AES-256-GCM (5.0), CHACHA20-POLY1305 (3.1.1). Each: CONNECT, SUBSCRIBE QoS 2 to its own topic, PUBLISH QoS 0/1/2 and a 20,000-byte QoS 1 PUBLISH (spans TLS records and TCP segments) to itself, PINGREQ, DISCONNECT, close_notify."
    ;;
  real-tls-openssl.pcap)
    echo "MQTT 3.1.1 written through \`openssl s_client -keylogfile\` (key log shipped as \`real-tls-openssl.keys\`) to mosquitto: on 8883 TLS 1.2 ECDHE-RSA-AES128-SHA (CBC, Encrypt-then-MAC), AES256-SHA256 (CBC, MAC-then-encrypt, \`-no_etm\`), AES128-CCM, AES256-CCM8, ECDHE-RSA-AES256-SHA384 twice (the second resumes the first's session by ticket), TLS 1.3 TLS_AES_128_CCM_8_SHA256 with a KeyUpdate between the two PUBLISHes; on 8884 (\`--tls-port 8884\`) TLS 1.1 ECDHE-RSA-AES256-SHA and TLS 1.1 NULL-SHA; on 8885 TLS 1.2 with an expired server certificate (2020-2021); and a plaintext MQTT CONNECT on 8883 that the broker drops. Each TLS session: CONNECT, PUBLISH QoS 0, a 3 KB PUBLISH QoS 1, PUBACK, DISCONNECT."
    ;;
  real-tls-openssl-dsb.pcapng)
    echo "\`real-tls-openssl.pcap\` converted by \`editcap --inject-secrets tls,real-tls-openssl.keys -F pcapng\`: the same traffic with its key log in a pcapng Decryption Secrets Block, so no key file is needed."
    ;;
  real-sparkplug.pcap)
    echo "Sparkplug B over 127.0.0.1:1883 (\`scripts/corpus-sparkplug.mjs\`; \`real-sparkplug.expected.ndjson\` lists every message each client published or registered as its Will). Primary host application \`corpus-sp-host\` (MQTT.js, MQTT 5.0, Clean Start 1, Session Expiry 0) connects with the Will \`spBv1.0/STATE/corpus-sp-host\` \`{\"online\":false,\"timestamp\":T}\` (QoS 1, retained), subscribes \`spBv1.0/CorpusGroup/#\` and its own \`spBv1.0/STATE/corpus-sp-host\` (QoS 1, one SUBSCRIBE), publishes the Sparkplug 3.0 STATE birth \`{\"online\":true,\"timestamp\":T}\` (QoS 1, retained, the Will's T) and receives its echo. Edge node \`Edge1\` of group \`CorpusGroup\`: Eclipse Tahu \`sparkplug-client\` $SP_CLIENT_VERSION (its own MQTT.js $SP_MQTT_VERSION, MQTT 3.1.1, client id \`corpus-sp-edge1\`, keep alive 60, no credentials) connects with the NDEATH Will \`spBv1.0/CorpusGroup/NDEATH/Edge1\` (timestamp and metric \`bdSeq\` UInt64 0, no seq) at QoS 0, not retained; subscribes \`spBv1.0/CorpusGroup/NCMD/Edge1/#\` and \`spBv1.0/CorpusGroup/DCMD/Edge1/#\` at QoS 0 (two SUBSCRIBEs); publishes (everything QoS 0, not retained) NBIRTH seq 0 (\`Node Control/Rebirth\` Boolean false without alias; Int32, Int64 9007199254740993 and -1234567890123, Int16 -12, Float 23.7 with properties engUnit \`°C\`, engLow, engHigh, Double, Boolean, a non-ASCII String, DateTime, UInt32 4000000000, aliases 1-10, each with a timestamp; then the \`bdSeq\` UInt64 0 the client appends, without alias), DBIRTH \`Dev1\` seq 1 (aliases 101-105: Double with engUnit \`bar\`, Int32 -7, Boolean \`Outputs/LED\`, Float, String) and DBIRTH \`Dev2\` seq 2 (201-205: Boolean, UInt16, Bytes, Int8 -128, UUID), six NDATA/DDATA by alias only, no names (seq 3-8; one value null, is_null). The host sends NCMD \`Node Control/Rebirth\` = true (by name, no seq); Edge1 answers with a new NBIRTH, again seq 0 and bdSeq 0 (current values: the Float is null), and both DBIRTHs (seq 1, 2). The host sends DCMD \`Outputs/LED\` = true to Dev1 (by name); Edge1 answers with a DDATA of alias 103 = true (seq 3) and publishes DDEATH \`Dev2\` (seq 4), then $SP_BURST NDATA/DDATA 3 ms apart (seq 5-255, then 0-48: one wrap). Edge1's process is killed with SIGKILL: its connection ends with a FIN and no DISCONNECT, and the broker publishes the NDEATH Will to the host (QoS 0). The host publishes its STATE death \`{\"online\":false,\"timestamp\":now}\` (QoS 1, retained), receives its echo and sends DISCONNECT (reason 0), so its Will is not published. Each edge node PUBLISH is in the capture twice (edge node to broker, broker to host), each NCMD/DCMD three times (to the edge node and back to the host), each STATE twice."
    ;;
  esac
}

versions() {
  case "$1" in
  real-v311-qos.pcap) echo "3.1.1" ;;
  real-v31-sll2.pcap) echo "3.1" ;;
  real-v5-props.pcapng) echo "5.0" ;;
  real-onenet-6002.pcap) echo "3.1.1, 5.0" ;;
  real-will-kill.pcapng) echo "3.1.1, 5.0" ;;
  real-sessions.pcap | real-sessions-v5.pcap) echo "3.1.1, 5.0" ;;
  real-large-200k.pcap) echo "3.1.1" ;;
  real-midstream-json.pcap.gz) echo "3.1.1, 5.0" ;;
  real-tls-mqttjs.pcapng) echo "3.1.1, 5.0" ;;
  real-tls-openssl.pcap | real-tls-openssl-dsb.pcapng) echo "3.1.1" ;;
  real-ws-8080.pcap | real-ws-8083.pcap | real-wss-8084.pcap) echo "3.1.1, 5.0" ;;
  real-sparkplug.pcap) echo "3.1.1, 5.0" ;;
  esac
}

if ((CHECK)); then
  manifest="$ROOT/captures/MANIFEST.md"
  [[ -f "$manifest" ]] || die "--check: $manifest does not exist"
  diffs=0
  for entry in "${CAPTURES[@]}"; do
    IFS='|' read -r file _ _ _ <<<"$entry"
    if [[ "$file" == "$MIDSTREAM" ]]; then
      log "check $file: started mid-stream, its packet counts vary from run to run; not compared"
      continue
    fi
    want=$(grep -F "| \`$file\` |" "$manifest" | awk -F'|' '{print $(NF-1)}' | sed 's/^ *//; s/ *$//')
    if [[ "$want" == "${COUNTS[$file]}" ]]; then
      log "check $file: same packet-type counts as MANIFEST.md"
    else
      log "check $file: DIFFERENT: manifest '$want', now '${COUNTS[$file]}'"
      diffs=1
    fi
  done
  log "done in $((SECONDS - START)) s"
  ((diffs == 0)) || die "--check: regenerated captures differ from captures/MANIFEST.md"
  exit 0
fi

mkdir -p "$OUT_DIR"
old_manifest=""
[[ -f "$OUT_DIR/MANIFEST.md" ]] && old_manifest=$(cat "$OUT_DIR/MANIFEST.md")
total=0
for entry in "${CAPTURES[@]}"; do
  IFS='|' read -r file _ _ _ <<<"$entry"
  if selected "$file"; then
    cp "$WORK/$file" "$OUT_DIR/$file.tmp"
    chmod 644 "$OUT_DIR/$file.tmp"
    mv -f "$OUT_DIR/$file.tmp" "$OUT_DIR/$file"
    k=$(keys_of "$file")
    [[ -n "$k" ]] && install -m 644 "$WORK/$k" "$OUT_DIR/$k"
  fi
  # With --only into a fresh --out folder the captures not made are not there: they count for nothing.
  [[ -f "$OUT_DIR/$file" ]] && total=$((total + $(stat -c %s "$OUT_DIR/$file")))
done
# What the mid-stream capture's clients sent and received, for the test that checks its decoding.
if selected real-midstream-json.pcap.gz; then
  install -m 644 "$WORK/real-midstream-json.clients.ndjson" "$OUT_DIR/real-midstream-json.clients.ndjson"
fi
# What the Sparkplug clients published, for the test of the Sparkplug decoding.
if selected real-sparkplug.pcap; then
  install -m 644 "$WORK/real-sparkplug.expected.ndjson" "$OUT_DIR/real-sparkplug.expected.ndjson"
fi

{
  cat <<EOF
# Real MQTT traffic corpus

Captures of real clients talking to a real broker (mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p'),
mosquitto_pub/mosquitto_sub, MQTT.js $(node -p 'require(process.argv[1]).version' "$ROOT/node_modules/mqtt/package.json")),
recorded on the loopback interface of a private network namespace by \`scripts/make-captures.sh\`
(MQTT.js scenarios: \`scripts/corpus-clients.mjs\`; Sparkplug B: \`scripts/corpus-sparkplug.mjs\` with Eclipse Tahu's
sparkplug-client $SP_CLIENT_VERSION and sparkplug-payload $SP_PAYLOAD_VERSION). Regenerate with \`sudo scripts/make-captures.sh\`;
\`sudo scripts/make-captures.sh --check\` regenerates into a temp dir and compares the packet-type counts
with this table.

Client ids, topics, payloads, packet types and counts are fixed; addresses, ports, timestamps, TCP
segmentation of the large payload and the interleaving of concurrent clients may differ between
runs. Broker listeners: 1883 anonymous; 6002 user name + password (\`per_listener_settings true\`,
\`password_file\` made with \`mosquitto_passwd -b\`), like the OneNET platform. Tools: $(tcpdump --version 2>&1 | head -1),
$(dumpcap --version 2>/dev/null | head -1 | sed 's/ (Git.*//'), $(tshark --version 2>/dev/null | head -1 | sed 's/ (Git.*//').

MQTT packet counts are tshark's, from
\`tshark -n -d tcp.port==6002,mqtt -r FILE -Y mqtt -T fields -e mqtt.msgtype | tr ',' '\n' | sort | uniq -c\`
(\`-d tcp.port==6002,mqtt\` is needed for port 6002 and harmless elsewhere; for \`real-ws-8080.pcap\` tshark 4.0
unmasks the WebSocket frames but does not decode their MQTT, so \`scripts/ws-unwrap.mjs\` first joins the payloads
tshark unmasked into a plain TCP capture that tshark then decodes), written as
\`NAME=count\` with the MQTT control packet type names (1 CONNECT … 14 DISCONNECT, 15 AUTH).
Total size: $total bytes.

| File | Format / link type | Recorded with | MQTT | Size (bytes) | Scenarios | MQTT packets (tshark) |
| --- | --- | --- | --- | --- | --- | --- |
EOF
  for entry in "${CAPTURES[@]}"; do
    IFS='|' read -r file tool link _ <<<"$entry"
    echo "| \`$file\` | $link | \`$tool\` | $(versions "$file") | $(stat -c %s "$OUT_DIR/$file") | $(describe "$file") | ${COUNTS[$file]} |"
  done
  cat <<'EOF'

Notes:
- No capture has an AUTH packet: mosquitto has no enhanced (AUTH) authentication without a plugin.
- The refused logins on 6002 end with the broker closing the TCP connection right after the CONNACK
  (no DISCONNECT from either side); the killed Will clients end with a FIN from the kernel and no
  DISCONNECT.
- tshark reports no malformed packets and no expert warnings or errors, except TCP "window full" /
  "zero window" warnings in `real-large-200k.pcap`: the 200 KiB PUBLISH fills the receiver's TCP
  window (real flow control on loopback), which is expected.
- `real-midstream-json.pcap.gz` starts after its connections did, inside their payloads: tshark frames every
  segment start as a packet there, so its counts are not what the clients sent (that is in
  `real-midstream-json.clients.ndjson`) and differ from run to run; `--check` does not compare them.
- `real-ws-8080.pcap`: MQTT.js writes a packet's pieces as separate WebSocket frames (a CONNECT spans several
  1- to 7-byte binary frames), so MQTT packets span frames (MQTT-6.0.0-2); each client ends with a close frame
  without a status code, then a RST.
- mosquitto 2.0 does not send topic aliases to clients, so topic aliases appear only client to server
  (in `real-v5-props.pcapng`); the broker's CONNACKs announce Topic Alias Maximum 10.
- The TLS captures (`real-tls-*`) are counted by tshark decrypting them: `-o tls.keylog_file:FILE.keys` (the key
  log shipped next to the capture; the `-dsb` pcapng carries its own) and `-d tcp.port==8884,tls -d tls.port==8884,mqtt`
  (the same for 8885). The plaintext CONNECT on 8883 in `real-tls-openssl.pcap` is not in tshark's counts (it
  dissects 8883 as TLS only). The CA, certificates and keys are made anew on every run, so the key logs change with
  the captures; only these sessions' secrets are shipped.
- `real-wss-8084.pcap` is counted like `real-ws-8080.pcap`, tshark decrypting it first with its key log and
  `-d tcp.port==8084,tls -d tls.port==8084,http` before `scripts/ws-unwrap.mjs` joins the payloads it unmasked.
EOF
  cat <<EOF
- \`real-sparkplug.expected.ndjson\` is written by the Sparkplug clients themselves, not by a dissector: one line per
  message each published (or registered as its Will, \`"will":true\`; the edge node's fires, the host's does not), in
  the order they did, with \`client\`, \`topic\`, \`message_type\`, MQTT \`qos\` and \`retain\`, \`payload\` (the object exactly
  as passed to sparkplug-payload's \`encodePayload\`, after sparkplug-client added \`seq\` and \`bdSeq\`; Long values as
  decimal strings, byte arrays as hex) and \`hex\` (the bytes the encoder returned, which are the PUBLISH payload); for
  STATE, \`payload\` and its exact JSON \`text\`. Floats are as passed: the wire holds the nearest float32 (23.7 is
  23.700000762939453). Negative Int8/Int16/Int32 go out as 32-bit two's complement in \`int_value\` (5-byte varints),
  negative Int64 as 64-bit two's complement in \`long_value\`.
- \`real-sparkplug.pcap\`, where sparkplug-client $SP_CLIENT_VERSION departs from Sparkplug 3.0: the NDEATH Will is QoS 0
  (tck-id-payloads-ndeath-will-message-qos: MUST be 1); \`bdSeq\` is UInt64 (the Will's metric type is the string
  \`uint64\`), where tck-id-message-flow-edge-node-birth-publish-will-message-payload-bdSeq says Int64, and it is a
  fixed 0 that the client never increments on a new CONNECT (not visible here: one connection); it subscribes to
  NCMD and DCMD at QoS 0 (tck-id-message-flow-edge-node-ncmd-subscribe: QoS 1) on \`.../NCMD/Edge1/#\` and
  \`.../DCMD/Edge1/#\`; it sends a datatype with every DATA metric (sparkplug-payload needs it to encode a value; SHOULD
  NOT); it has no wait for a primary host's STATE, and cannot subscribe to STATE (its message handler gives every
  message to the protobuf decoder, which throws on the JSON STATE payload), so the script starts the host first; it has
  no \`rebirth\` event: the rebirth request arrives as an \`ncmd\` event the application answers; it writes the NBIRTH
  and the two DBIRTHs in one TCP segment. The rebirth NBIRTH has seq 0 (tck-id-topics-nbirth-seq-num) and the same bdSeq
  (tck-id-operational-behavior-data-commands-rebirth-action-3), as the spec says. The host's DCMD names its metric
  instead of using the alias (tck-id-payloads-alias-data-cmd-requirement says alias only), on purpose: a command by
  name. tshark 4.0's SparkplugB dissector predates the Sparkplug 3.0 STATE topic: it reads
  \`spBv1.0/STATE/corpus-sp-host\` as group \`STATE\` and marks those 4 PUBLISH frames malformed ("Missing Edge Node
  ID"), the only expert infos allowed in this capture; it decodes every other payload without complaint.
EOF
} >"$OUT_DIR/MANIFEST.md"

if [[ -n "$old_manifest" ]]; then
  for entry in "${CAPTURES[@]}"; do
    IFS='|' read -r file _ _ _ <<<"$entry"
    prev=$(grep -F "| \`$file\` |" <<<"$old_manifest" | awk -F'|' '{print $(NF-1)}' | sed 's/^ *//; s/ *$//' || true)
    if [[ -n "$prev" && "$prev" != "${COUNTS[$file]}" ]]; then
      log "WARNING: $file packet-type counts changed: was '$prev', now '${COUNTS[$file]}'"
    fi
  done
fi
((total <= 1572864)) || log "WARNING: the captures total $total bytes (more than 1.5 MiB)"
log "wrote ${#CAPTURES[@]} captures ($total bytes) and MANIFEST.md to $OUT_DIR in $((SECONDS - START)) s"
