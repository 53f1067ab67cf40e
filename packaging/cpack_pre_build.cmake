# cpack_pre_build.cmake — runs inside CPack after the staging install, once per generator
# (CPACK_PRE_BUILD_SCRIPTS). Keeps each package to its own distribution's conventions:
#   DEB: add /usr/share/doc/conntrail/changelog.Debian.gz (lintian no-changelog).
#   RPM: drop the lintian override file (the RPM has its changelog in the spec header).
set(stage "${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
if(NOT IS_DIRECTORY "${stage}/usr")
  # Some CPack versions stage below a per-package directory.
  file(GLOB_RECURSE unit LIST_DIRECTORIES false "${stage}/*/conntrail-agent.service")
  list(GET unit 0 unit)
  string(REGEX REPLACE "/usr/lib/systemd/system/conntrail-agent.service$" "" stage "${unit}")
endif()
if(CPACK_GENERATOR STREQUAL "DEB")
  set(docdir "${stage}/usr/${CPACK_CONNTRAIL_DOC_DIR}")
  file(MAKE_DIRECTORY "${docdir}")
  file(COPY_FILE "${CPACK_CONNTRAIL_DEBIAN_CHANGELOG}" "${docdir}/changelog.Debian")
  execute_process(COMMAND gzip -9nf "${docdir}/changelog.Debian" COMMAND_ERROR_IS_FATAL ANY)
elseif(CPACK_GENERATOR STREQUAL "RPM")
  file(REMOVE_RECURSE "${stage}/usr/share/lintian")
endif()
