#!/bin/bash
# tests/integration/e2e-sync-unit.sh - the sync as its systemd unit runs
# it, with samba_sync = yes, against Samba's Debian paths (/etc/samba,
# /var/lib/samba, /run/samba, /var/cache/samba). Root only (namespace);
# skips without smbpasswd/pdbedit.
#
# Owns: the sandbox of tools/jellyfin-auth-sync.service.in leaves the sync
# able to do its job: a user disabled in Jellyfin gets the users database
# flag *and* a disabled Samba entry (smbpasswd -d). The unit's file-system
# and privilege settings are emulated, not run by systemd (no systemd as
# PID 1 here): ProtectSystem=strict (every mount read-only but the unit's
# ReadWritePaths= and StateDirectory=), ProtectHome=yes, PrivateTmp=yes,
# CapabilityBoundingSet= (setpriv --bounding-set) and NoNewPrivileges=, all
# read from the built unit. Also: nothing outside those paths is writable
# from inside (the emulation itself is checked).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
for t in smbpasswd pdbedit setpriv; do
    command -v "$t" >/dev/null || jfa_skip "$t not installed"
done
UNIT=$top_builddir/tools/jellyfin-auth-sync.service
[ -f "$UNIT" ] || jfa_fail "no built unit $UNIT"
e2e_system
e2e_jellyfin

# --- Samba with Debian's default paths, no daemon needed (tdbsam, local)
mkdir -p /etc/samba /var/lib/samba/private /run/samba /var/cache/samba /var/log/samba
chmod 0700 /var/lib/samba/private
rm -f /var/lib/samba/private/passdb.tdb /var/lib/samba/private/secrets.tdb
cat >/etc/samba/smb.conf <<'EOF'
[global]
   workgroup = E2E
   server role = standalone server
   passdb backend = tdbsam
   interfaces = lo
   bind interfaces only = yes
   disable netbios = yes
EOF
pdbedit -P "bad lockout attempt" -C 5 >/dev/null 2>&1 || e2e_fail "cannot set Samba's lockout policy"
# PrivateTmp= hides $W: the CA goes where a real one would
install -m 0644 "$W/tls/cert.pem" /etc/jellyfin-auth-e2e-ca.pem
e2e_write_config "$URL" /etc/jellyfin-auth-e2e-ca.pem "samba_sync = yes"
printf '%s\n%s\n' "$E2E_PW_bob" "$E2E_PW_bob" | smbpasswd -s -a bob >/dev/null ||
    e2e_fail "cannot enroll bob in Samba"
flags() { pdbedit -L -w 2>/dev/null | awk -F: -v u="$1" '$1 == u { print $5 }'; }
case "$(flags bob)" in *D*) e2e_fail "bob's Samba entry is disabled before the test" ;; esac

# unit_value KEY: the values of KEY= in the built unit, one a line
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tr ' ' '\n' | sed '/^$/d'; }
# unit_run CMD...: CMD in a mount namespace made like the unit's sandbox
unit_run() {
    local rw p
    grep -qx 'ProtectSystem=strict' "$UNIT" || jfa_fail "the unit lost ProtectSystem=strict"
    rw=$( (
        unit_value ReadWritePaths
        unit_value StateDirectory | sed 's|^|/var/lib/|'
    ) | sed 's/^-//')
    # CapabilityBoundingSet= (empty, or a list): every capability outside it goes
    local caps="" bset=-all
    grep -q '^CapabilityBoundingSet=' "$UNIT" || jfa_fail "the unit lost CapabilityBoundingSet="
    for p in $(unit_value CapabilityBoundingSet); do
        bset="$bset,+$(echo "${p#CAP_}" | tr A-Z a-z)"
    done
    caps="--inh-caps=-all --bounding-set=$bset"
    local nnp=""
    grep -qx 'NoNewPrivileges=yes' "$UNIT" && nnp=--no-new-privs
    RW="$rw" CAPS="$caps" NNP="$nnp" unshare -m --propagation private bash -c '
        set -e
        for p in $RW; do [ -e "$p" ] && mount --bind "$p" "$p"; done
        awk "{ print \$5 }" /proc/self/mountinfo | sort -u | while read -r mp; do
            case "$mp" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
            skip=""
            for p in $RW; do [ "$mp" = "$p" ] && skip=1; done
            [ -n "$skip" ] || mount -o remount,bind,ro "$mp" 2>/dev/null || true
        done
        mount -t tmpfs -o mode=1777 tmpfs /tmp
        mount -t tmpfs -o ro,mode=0 tmpfs /home
        exec setpriv $CAPS $NNP -- "$@"' unit-sandbox "$@"
}

# the emulation holds: the unit cannot write outside its paths
unit_run sh -c 'touch /etc/jfa-unit-probe' 2>/dev/null && e2e_fail "the sandbox lets /etc be written"
unit_run sh -c 'touch /var/lib/jellyfin-auth/.probe && rm /var/lib/jellyfin-auth/.probe' ||
    e2e_fail "the sandbox does not let the state directory be written"

# bob disabled in Jellyfin: the unit's sync disables his Samba entry
jfa_fake_ctl "$URL" POST /__fake/users "{\"upsert\": [{\"id\": \"$E2E_ID_bob\", \"is_disabled\": true}]}" \
    >/dev/null || e2e_fail "cannot disable bob in the fake"
unit_run /usr/sbin/jellyfin-auth sync >"$W/sync.log" 2>&1
rc=$?
getent passwd bob >/dev/null || e2e_fail "bob is gone from the database"
case "$(flags bob)" in
*D*) ;;
*) cat "$W/sync.log" >&2; e2e_fail "the unit's sync (exit $rc) left bob's Samba entry enabled: $(flags bob)" ;;
esac
[ "$rc" = 0 ] || { cat "$W/sync.log" >&2; e2e_fail "the unit's sync failed ($rc)"; }

# and re-enabled: enabled again
jfa_fake_ctl "$URL" POST /__fake/users "{\"upsert\": [{\"id\": \"$E2E_ID_bob\", \"is_disabled\": false}]}" \
    >/dev/null || e2e_fail "cannot enable bob in the fake"
unit_run /usr/sbin/jellyfin-auth sync >"$W/sync.log" 2>&1 || { cat "$W/sync.log" >&2; e2e_fail "sync"; }
case "$(flags bob)" in *D*) e2e_fail "the unit's sync left bob's Samba entry disabled" ;; esac

e2e_nosecret
echo "PASS: the sync unit's sandbox lets it keep Samba in step"
exit 0
