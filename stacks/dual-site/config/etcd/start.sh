#!/bin/sh
# Entrypoint of an etcd member of the dual-site stack: start it, and let it rejoin after a fire.
#
# With a data dir, etcd restarts as itself (a power cut: the disk survived). With an empty one there
# are two cases:
#   - the stack is new: bootstrap with ETCD_INITIAL_CLUSTER_STATE=new, as compose.yaml says;
#   - the site burnt down (site_loss) and was rebuilt empty while the cluster lives on in the other
#     members. A member that lost its data cannot come back under its old identity (started with
#     "new", etcd refuses: "member ... has already been bootstrapped"). Through a surviving member it
#     (1) removes its old identity, (2) adds itself again, under a new id, with the same peer URL,
#     and (3) starts with ETCD_INITIAL_CLUSTER_STATE=existing and the cluster's current members.
# The other members are reached at their peer URLs (from ETCD_INITIAL_CLUSTER): etcd serves its v3
# API on the peer port too, and peer ports are the only etcd ports the WAN (Toxiproxy) carries.
#
# How the empty-data case is told apart, from `etcdctl member list` asked of the other members (a
# member that has run once has published its client URLs; the name alone says nothing, as members of
# the initial cluster are named from the start):
#   nobody answers within ETCD_PEER_PROBE_S           -> a new stack (all start together): "new"
#   our peer URL is listed without client URLs, with the id etcd derives at bootstrap
#     (sha1 of peer URL + cluster token)               -> a new stack still forming: "new"
#   our peer URL is listed with client URLs           -> the fire: remove it, add it, "existing"
#   our peer URL is listed without client URLs, another id -> an earlier rebuild added it: "existing"
#   our peer URL is not listed                        -> an earlier rebuild removed it: add it, "existing"
# The survivors refuse a membership change while they are not all connected ("unhealthy cluster"):
# each change is retried for up to ETCD_RECONFIG_RETRY_S.
# Every step can be repeated: a rebuild killed half-way is finished by the next start.
# Known limit: a member rebuilt while every link of its site is down (no peer answers) bootstraps
# "new" under its old id; rebuild a site only once its links are up.
set -eu

: "${ETCD_NAME:?}" "${ETCD_DATA_DIR:?}" "${ETCD_INITIAL_CLUSTER:?}" "${ETCD_INITIAL_ADVERTISE_PEER_URLS:?}"
: "${ETCD_INITIAL_CLUSTER_TOKEN:=etcd-cluster}"
PROBE_S=${ETCD_PEER_PROBE_S:-4}
RETRY_S=${ETCD_RECONFIG_RETRY_S:-30}
ME=$ETCD_INITIAL_ADVERTISE_PEER_URLS

log() { echo "etcd-start[$ETCD_NAME]: $*" >&2; }

if [ -d "$ETCD_DATA_DIR/member" ]; then
    exec etcd
fi

# The other members' peer URLs: name=url,name=url minus our own entry.
PEERS=$(echo "$ETCD_INITIAL_CLUSTER" | tr ',' '\n' | grep -v "^$ETCD_NAME=" | cut -d= -f2- | paste -sd, -)
ctl() { etcdctl --endpoints="$PEERS" --dial-timeout=2s --command-timeout=5s "$@"; }
# `member list` lines: "<hex id>, <started|unstarted>, <name>, <peer urls>, <client urls>, <is learner>"
mine() { echo "$1" | awk -F', ' -v url="$ME" '$4 == url'; }
# reconfigure CHECK ARGS...: run `etcdctl ARGS` until the shell test CHECK holds (a change whose
# answer was lost is not made twice), for up to RETRY_S.
reconfigure() {
    check=$1; shift
    until_s=$(( $(date +%s) + RETRY_S ))
    until eval "$check"; do
        ctl "$@" >&2 || true
        eval "$check" && break
        [ "$(date +%s)" -lt "$until_s" ] || { log "giving up: etcdctl $*"; return 1; }
        sleep 1
    done
}
# The membership as the survivors see it; an unanswered question is neither gone nor present.
gone() { out=$(ctl member list 2>/dev/null) || return 1; ! echo "$out" | grep -q "^$1, "; }
present() { out=$(ctl member list 2>/dev/null) || return 1; echo "$out" | grep -qF "$1"; }

members=""
deadline=$(( $(date +%s) + PROBE_S ))
while :; do
    if members=$(ctl member list 2>/dev/null) && [ -n "$members" ]; then
        break
    fi
    members=""
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 1
done

if [ -z "$members" ]; then
    log "empty data dir and no other member answers: bootstrapping (state ${ETCD_INITIAL_CLUSTER_STATE:-new})"
    exec etcd
fi

# The id etcd gives a member of the initial cluster (membership.NewMember with no time): the first
# 8 bytes of sha1(peer URL + cluster token), printed by etcdctl in hex without leading zeros.
BOOT_ID=$(printf '%s%s' "$ME" "$ETCD_INITIAL_CLUSTER_TOKEN" | sha1sum | cut -c1-16 | sed 's/^0*//')
entry=$(mine "$members")
id=$(echo "$entry" | awk -F', ' '{print $1}')
clients=$(echo "$entry" | awk -F', ' '{print $5}')

if [ -n "$entry" ] && [ -z "$clients" ] && [ "$id" = "$BOOT_ID" ]; then
    log "empty data dir, the cluster is still forming and this member never ran: bootstrapping"
    exec etcd
fi
if [ -n "$entry" ] && [ -n "$clients" ]; then
    log "empty data dir, but the cluster knows this member as $id: its data is lost; removing that identity"
    reconfigure "gone $id" member remove "$id"
    entry=""
fi
if [ -z "$entry" ]; then
    log "adding $ETCD_NAME ($ME) to the cluster as a new member"
    reconfigure "present ', $ME, '" member add "$ETCD_NAME" --peer-urls="$ME"
fi

# The cluster as it is now, with our (not yet named) entry under our name; an unnamed other member
# (being rebuilt too) under a placeholder: etcd matches the members by peer URL.
members=$(ctl member list)
ETCD_INITIAL_CLUSTER=$(echo "$members" | awk -F', ' -v url="$ME" -v me="$ETCD_NAME" '
    { name = ($4 == url) ? me : ($3 == "" ? "unstarted-" $1 : $3); n = split($4, urls, ",")
      for (i = 1; i <= n; i++) out = out (out == "" ? "" : ",") name "=" urls[i] }
    END { print out }')
export ETCD_INITIAL_CLUSTER
export ETCD_INITIAL_CLUSTER_STATE=existing
log "joining the existing cluster: $ETCD_INITIAL_CLUSTER"
exec etcd
