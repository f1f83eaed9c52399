#!/bin/sh
# make_exec_events_seeds.sh -- writes fuzz/corpus/exec_events/: event
# sequences for fuzz_exec_events, each Event encoded by protoc from
# upstream's executor.proto (mesos-go's copy, Debian package
# golang-github-mesos-mesos-go-dev, installed by scripts/install-deps).
# A chunk is a 2-byte big-endian header (bit 15: memcached became ready
# before this event; bits 0-14: length) and the packed Event.
# mesos-go's copy has no HEARTBEAT (9, Mesos 1.6+): that chunk is the two
# bytes 08 09 (field 1, varint 9) written by hand.
# Usage: sh fuzz/make_exec_events_seeds.sh   (from the repository root)
set -eu
GO=/usr/share/gocode/src
PROTO=github.com/mesos/mesos-go/api/v1/lib/executor/executor.proto
OUT=fuzz/corpus/exec_events
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# chunk READY TEXT: appends one chunk (READY 1: the ready bit) to $TMP/seq
chunk() {
    printf '%s\n' "$2" | protoc --encode=mesos.executor.Event -I"$GO" -I/usr/include "$GO/$PROTO" > "$TMP/ev"
    n=$(wc -c < "$TMP/ev")
    [ "$1" = 1 ] && n=$((n + 32768))
    printf "\\$(printf %o $((n / 256)))\\$(printf %o $((n % 256)))" >> "$TMP/seq"
    cat "$TMP/ev" >> "$TMP/seq"
}
heartbeat() { printf '\000\002\010\011' >> "$TMP/seq"; }
emit() { mv "$TMP/seq" "$OUT/$1"; : > "$TMP/seq"; }
: > "$TMP/seq"

SUB='type: SUBSCRIBED subscribed { executor_info { executor_id { value: "mcm-e1" } command { value: "mcm-executor" } }
 framework_info { user: "mcm" name: "mcm" id { value: "fw-1" } capabilities { type: TASK_KILLING_STATE } }
 agent_info { hostname: "agent1.example" id { value: "ag-1" } } }'
TASK='name: "memcached-1" task_id { value: "mcm-1" } agent_id { value: "ag-1" }
 resources { name: "cpus" type: SCALAR scalar { value: 0.5 } }
 resources { name: "mem" type: SCALAR scalar { value: 128 } }
 resources { name: "ports" type: RANGES ranges { range { begin: 31000 end: 31000 } } }'
CMD='{"v":1,"type":"migrate","id":7,"phase":"copy","ring":["10.0.0.1:31000","10.0.0.2:31001"],"self":"10.0.0.1:31000","rate":0,"budget_ms":0}'
PURGE='{"v":1,"type":"migrate","id":7,"phase":"purge","ring":["10.0.0.1:31000"],"self":"10.0.0.1:31000","rate":1000000,"budget_ms":5000,"from":["10.0.0.1:31000","10.0.0.3:31002"],"to":["10.0.0.1:31000"],"lost":["10.0.0.3:31002"]}'
esc() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

# 1. a life: subscribe, launch, ready, migrate copy + purge, ack, heartbeat, kill with a policy
chunk 0 "$SUB"
chunk 0 "type: LAUNCH launch { task { $TASK kill_policy { grace_period { nanoseconds: 3000000000 } } } }"
chunk 1 "type: MESSAGE message { data: \"$(esc "$CMD")\" }"
chunk 0 "type: MESSAGE message { data: \"$(esc "$PURGE")\" }"
chunk 0 'type: ACKNOWLEDGED acknowledged { task_id { value: "mcm-1" } uuid: "0123456789abcdef" }'
heartbeat
chunk 0 'type: KILL kill { task_id { value: "mcm-1" } kill_policy { grace_period { nanoseconds: 2000000000 } } }'
emit launch_migrate_kill

# 2. hostile: a TaskInfo without ports, a second LAUNCH, a KILL of another task, LAUNCH_GROUP, ERROR, SHUTDOWN, LAUNCH after it
chunk 0 "$SUB"
chunk 0 'type: LAUNCH launch { task { name: "m" task_id { value: "mcm-2" } agent_id { value: "ag-1" }
 resources { name: "mem" type: SCALAR scalar { value: 64 } } } }'
chunk 0 "type: LAUNCH launch { task { $TASK } }"
chunk 0 'type: KILL kill { task_id { value: "someone-else" } }'
chunk 0 'type: LAUNCH_GROUP launch_group { task_group { tasks { name: "g" task_id { value: "g-1" } agent_id { value: "ag-1" } } } }'
chunk 0 'type: ERROR error { message: "framework mcm is not subscribed" }'
chunk 0 'type: SHUTDOWN'
chunk 0 "type: LAUNCH launch { task { $TASK } }"
emit invalid_then_shutdown

# 3. a migrate command before memcached runs, a malformed one, a report-like MESSAGE,
#    a KILL of another task (negative grace), SHUTDOWN while running, a KILL after it
chunk 0 "$SUB"
chunk 0 "type: MESSAGE message { data: \"$(esc "$CMD")\" }"
chunk 0 "type: LAUNCH launch { task { $TASK } }"
chunk 0 "type: MESSAGE message { data: \"$(esc '{"v":1,"type":"migrate","id":0,"phase":"copy","ring":[],"self":"x"}')\" }"
chunk 1 'type: MESSAGE message { data: "{\"v\":1,\"task_id\":\"mcm-1\",\"time_ms\":1}" }'
heartbeat
chunk 0 'type: KILL kill { task_id { value: "mcm-9" } kill_policy { grace_period { nanoseconds: -5 } } }'
chunk 0 'type: SHUTDOWN'
chunk 0 'type: KILL kill { task_id { value: "mcm-1" } }'
emit early_command_shutdown

# 4. found by the smoke mutations: a mem of 4.4e40 MiB (converted out of range
#    before the fix), then a KILL of the task that must not be running
chunk 0 "$SUB"
chunk 0 'type: LAUNCH launch { task { name: "m" task_id { value: "mcm-4" } agent_id { value: "ag-1" }
 resources { name: "mem" type: SCALAR scalar { value: 4.35561e40 } }
 resources { name: "ports" type: RANGES ranges { range { begin: 31000 end: 31000 } } } } }'
chunk 0 'type: KILL kill { task_id { value: "mcm-4" } }'
emit huge_mem

# 5. found by the target: a 256-character task id (cut to 255 and run before
#    the fix), then a KILL naming it whole
LONG=$(printf '%0256d' 0 | tr 0 t)
chunk 0 "type: LAUNCH launch { task { $(printf '%s' "$TASK" | sed "s/\"mcm-1\"/\"$LONG\"/") } }"
chunk 1 "type: KILL kill { task_id { value: \"$LONG\" } }"
emit long_task_id
