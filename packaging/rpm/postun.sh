# conntrail %postun: daemon-reload; on upgrade ($1 >= 1) restart a running agent only
# (as %systemd_postun_with_restart does). /var/lib/conntrail (retained records) is never
# removed by the package: rpm leaves the non-empty directory in place on erase.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart conntrail-agent.service >/dev/null 2>&1 || :
    fi
fi
exit 0
