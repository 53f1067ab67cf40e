# conntrail %post: systemd learns the unit; it is never enabled or started here (the shipped
# configuration has no capture interface). On upgrade %postun restarts a running agent.
# Private keys and officer lists the admin left world-accessible lose that access.
find /etc/conntrail -type f \( -name '*.key' -o -name 'officers*' \) \
    -perm /o=rwx -exec chmod o-rwx {} + 2>/dev/null || :
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 1 ]; then
    echo "conntrail: conntrail-agent is installed disabled. Configure a capture interface in"
    echo "conntrail: /etc/conntrail/conntrail.conf, then: systemctl enable --now conntrail-agent"
fi
exit 0
