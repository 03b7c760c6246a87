#!/usr/bin/env bash
# start-rgw.sh: starts a private single-node Ceph cluster (1 mon, 1 memstore OSD, radosgw; no mgr)
# on 127.0.0.1 under $BASE and creates an S3 user with fixed keys, for the S3 queue compat tests.
# Follows shared/reference/ceph-rgw.md (vstart-style): ready in ~4 s, ~180 MB RSS. Never touches
# /etc/ceph or /var/lib/ceph: every path comes from $BASE/ceph.conf (CEPH_CONF).
#   start-rgw.sh            wipe $BASE, create and start the whole cluster
#   start-rgw.sh --rgw-only start radosgw again on an existing running cluster (after stop-rgw.sh --rgw-only)
# Environment (all optional except BASE): BASE, MON_V2_PORT (40330), MON_V1_PORT (40789), RGW_PORT (7480),
# OSD_PORT_MIN (6800), ACCESS_KEY, SECRET_KEY, OBJECTSTORE (memstore|bluestore).
# Prints "S3 endpoint http://127.0.0.1:$RGW_PORT ready" when a signed request works; PIDs in $BASE/run/*.pid.
set -euo pipefail
: "${BASE:?BASE must name a private directory}"
MON_V2_PORT=${MON_V2_PORT:-40330}
MON_V1_PORT=${MON_V1_PORT:-40789}
RGW_PORT=${RGW_PORT:-7480}
OSD_PORT_MIN=${OSD_PORT_MIN:-6800}
ACCESS_KEY=${ACCESS_KEY:-MTATESTACCESSKEY0001}
SECRET_KEY=${SECRET_KEY:-mta-test-secret-key-0000000000000000000001}
OBJECTSTORE=${OBJECTSTORE:-memstore}
export CEPH_CONF=$BASE/ceph.conf
CEPH="ceph --connect-timeout 10"

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then echo "start-rgw: timed out waiting for $what" >&2; return 1; fi
    sleep 0.2
  done
}

start_rgw() {
  radosgw -c "$CEPH_CONF" -n client.rgw.a -f >>"$BASE/log/rgw.a.stdout" 2>&1 &
  echo $! >"$BASE/run/rgw.pid"
  wait_for 60 "radosgw on 127.0.0.1:$RGW_PORT" curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/"
}

signed_request_works() {
  curl -sf -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://127.0.0.1:$RGW_PORT/"
}

if [ "${1:-}" = "--rgw-only" ]; then
  start_rgw
  wait_for 30 "a signed S3 request" signed_request_works
  echo "S3 endpoint http://127.0.0.1:$RGW_PORT ready"
  exit 0
fi

rm -rf "$BASE"
mkdir -p "$BASE"/{run,log,mon.a,osd.0,rgw.a,crash}
FSID=$(uuidgen)
if [ "$OBJECTSTORE" = bluestore ]; then
  STORE_CONF="osd_objectstore = bluestore
bluestore_block_path = $BASE/osd.0/block.file
bluestore_block_create = true
bluestore_block_size = 4294967296
bluestore_block_db_create = false
bluestore_block_wal_create = false
bluestore_cache_autotune = false
bluestore_cache_size = 134217728"
else
  STORE_CONF="osd_objectstore = memstore
memstore_device_bytes = 2147483648"
fi
cat >"$CEPH_CONF" <<CONF
[global]
fsid = $FSID
mon_host = [v2:127.0.0.1:$MON_V2_PORT,v1:127.0.0.1:$MON_V1_PORT]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_port_min = $OSD_PORT_MIN
ms_bind_port_max = $((OSD_PORT_MIN + 99))
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = $BASE/keyring
run_dir = $BASE/run
admin_socket = $BASE/run/\$name.asok
pid_file = $BASE/run/\$name.pid
log_file = $BASE/log/\$name.log
crash_dir = $BASE/crash
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
mon_max_pg_per_osd = 1000
[mon]
mon_data = $BASE/\$name
mon_data_avail_warn = 2
mon_data_avail_crit = 1
paxos_propose_interval = 0.1
[osd]
osd_data = $BASE/\$name
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
osd_max_object_name_len = 460
osd_max_object_namespace_len = 64
$STORE_CONF
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw_thread_pool_size = 32
rgw_data = $BASE/rgw.a
rgw_dns_name = localhost
CONF

ceph-authtool --create-keyring "$BASE/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$BASE/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_V2_PORT,v1:127.0.0.1:$MON_V1_PORT]" "$BASE/monmap" >/dev/null
ceph-mon -c "$CEPH_CONF" -i a --mkfs --monmap "$BASE/monmap" --keyring "$BASE/keyring"
ceph-mon -c "$CEPH_CONF" -i a -f >>"$BASE/log/mon.a.stdout" 2>&1 &
echo $! >"$BASE/run/mon.pid"
wait_for 30 "ceph-mon" $CEPH mon stat

OSD_UUID=$(uuidgen)
OSD_SECRET=$(ceph-authtool --gen-print-key)
echo "{\"cephx_secret\": \"$OSD_SECRET\"}" >"$BASE/osd.0/new.json"
$CEPH osd new "$OSD_UUID" -i "$BASE/osd.0/new.json" >/dev/null
ceph-authtool "$BASE/keyring" -n osd.0 --add-key "$OSD_SECRET" >/dev/null
ceph-osd -c "$CEPH_CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >>"$BASE/log/osd.0.stdout" 2>&1
ceph-osd -c "$CEPH_CONF" -i 0 -f >>"$BASE/log/osd.0.stdout" 2>&1 &
echo $! >"$BASE/run/osd.pid"
osd_up() { $CEPH osd dump -f json | grep -q '"up":1'; }
wait_for 60 "ceph-osd up" osd_up

$CEPH auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' >>"$BASE/keyring"
start_rgw
radosgw-admin user create --uid=mta --display-name="mta compat tests" --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
wait_for 30 "a signed S3 request" signed_request_works
echo "S3 endpoint http://127.0.0.1:$RGW_PORT ready"
