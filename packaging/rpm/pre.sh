# conntrail %pre: the system user and group, before the files that %attr gives to them land.
# Same identity as /usr/lib/sysusers.d/conntrail.conf; systemd-sysusers when present (what
# %sysusers_create_compat does), useradd otherwise.
if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers --replace=/usr/lib/sysusers.d/conntrail.conf - <<'SYSUSERS' || :
u conntrail - "conntrail flow-record agent" /var/lib/conntrail /usr/sbin/nologin
SYSUSERS
fi
getent group conntrail >/dev/null || groupadd -r conntrail
getent passwd conntrail >/dev/null || \
    useradd -r -g conntrail -d /var/lib/conntrail -s /usr/sbin/nologin \
        -c "conntrail flow-record agent" conntrail
exit 0
